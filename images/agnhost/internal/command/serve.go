package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// shutdownGrace bounds how long in-flight requests may delay exit after a signal.
const shutdownGrace = 5 * time.Second

// ListenTCP listens on all interfaces at port (0 picks a free one).
func ListenTCP(port int) (net.Listener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("listen on tcp port %d: %w", port, err)
	}
	return ln, nil
}

// ServeHTTP serves handler on ln until ctx is cancelled, then shuts down
// gracefully and returns nil; a serve failure is returned as an error.
func ServeHTTP(ctx context.Context, ln net.Listener, handler http.Handler) error {
	return serve(ctx, ln, handler, func(srv *http.Server) error { return srv.Serve(ln) })
}

// ServeHTTPS is ServeHTTP over TLS with the given PEM certificate and key files.
func ServeHTTPS(ctx context.Context, ln net.Listener, handler http.Handler, certFile, keyFile string) error {
	return serve(ctx, ln, handler, func(srv *http.Server) error {
		return srv.ServeTLS(ln, certFile, keyFile)
	})
}

func serve(ctx context.Context, ln net.Listener, handler http.Handler, run func(*http.Server) error) error {
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 30 * time.Second}
	log.Printf("serving HTTP on %s", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- run(srv) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down %s: %w", ln.Addr(), err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	}
	return nil
}

// CloseOnDone closes c when ctx ends, unblocking an Accept or Read loop.
// Call the returned stop once the loop is over.
func CloseOnDone(ctx context.Context, c io.Closer) (stop func()) {
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			c.Close()
		case <-done:
		}
	}()
	return func() { close(done) }
}

// RunAll runs the servers side by side until ctx ends. The first failure
// stops the others, and is returned once all have returned.
func RunAll(ctx context.Context, servers ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(servers))
	var wg sync.WaitGroup
	for _, serve := range servers {
		wg.Add(1)
		go func(serve func(context.Context) error) {
			defer wg.Done()
			if err := serve(ctx); err != nil {
				errs <- err
				cancel()
			}
		}(serve)
	}
	wg.Wait()
	close(errs)
	return <-errs
}
