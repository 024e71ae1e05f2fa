// Package porter implements "agnhost porter": it listens on every port the
// environment names and answers each with that variable's value, so a test
// can tell which port of a pod a Service routed to.
package porter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"

	"e2e-images/agnhost/internal/command"
)

const name = "porter"

// Command serves the SERVE_PORT_<n> and SERVE_TLS_PORT_<n> ports.
var Command = command.Command{
	Name:    name,
	Summary: "serve on each port named by SERVE_PORT_<n> (and SERVE_TLS_PORT_<n>) with its value",
	Run:     run,
}

// Certificate locations for TLS ports, overridable like the body.
const (
	certFileEnv     = "CERT_FILE"
	keyFileEnv      = "KEY_FILE"
	defaultCertFile = "/localhost.crt"
	defaultKeyFile  = "/localhost.key"
)

func run(ctx context.Context, args []string, _ io.Writer) error {
	if err := command.Parse(command.NewFlagSet(name), args); err != nil {
		return err
	}
	ports, err := ParsePorts(os.Environ())
	if err != nil {
		return err
	}
	if len(ports) == 0 {
		return errors.New("no SERVE_PORT_<n> or SERVE_TLS_PORT_<n> variable set")
	}
	certFile := envOr(certFileEnv, defaultCertFile)
	keyFile := envOr(keyFileEnv, defaultKeyFile)
	return serveAll(ctx, ports, certFile, keyFile)
}

func serveAll(ctx context.Context, ports []Port, certFile, keyFile string) error {
	servers := make([]func(context.Context) error, 0, len(ports))
	var opened []net.Listener
	for _, p := range ports {
		ln, err := command.ListenTCP(p.Number)
		if err != nil {
			for _, l := range opened {
				l.Close()
			}
			return err
		}
		opened = append(opened, ln)
		p, h := p, Handler(p.Body)
		servers = append(servers, func(ctx context.Context) error {
			var err error
			if p.TLS {
				err = command.ServeHTTPS(ctx, ln, h, certFile, keyFile)
			} else {
				err = command.ServeHTTP(ctx, ln, h)
			}
			if err != nil {
				return fmt.Errorf("port %d: %w", p.Number, err)
			}
			return nil
		})
	}
	return command.RunAll(ctx, servers...)
}

// Handler answers every request with body.
func Handler(body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, body)
	})
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
