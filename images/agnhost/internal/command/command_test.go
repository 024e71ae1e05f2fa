package command

import (
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	fs := NewFlagSet("x")
	fs.SetOutput(io.Discard)
	fs.Int("port", 1, "")
	var usage *UsageError
	if err := Parse(fs, []string{"--nope"}); !errors.As(err, &usage) {
		t.Errorf("unknown flag: %v", err)
	}
	if err := Parse(fs, []string{"--port=2", "extra"}); !errors.As(err, &usage) {
		t.Errorf("positional argument: %v", err)
	}
	if err := Parse(fs, []string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

func TestRunAllStopsTheOthersOnFailure(t *testing.T) {
	boom := errors.New("boom")
	stopped := make(chan struct{})
	err := RunAll(context.Background(),
		func(ctx context.Context) error { <-ctx.Done(); close(stopped); return nil },
		func(context.Context) error { return boom },
	)
	if !errors.Is(err, boom) {
		t.Fatalf("RunAll = %v, want boom", err)
	}
	select {
	case <-stopped:
	default:
		t.Fatal("the healthy server was not stopped")
	}
}

func TestServeHTTPShutsDownCleanly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ServeHTTP(ctx, ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, "up")
		}))
	}()
	resp, err := http.Get("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "up" {
		t.Fatalf("body = %q", body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ServeHTTP after cancel = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeHTTP did not return")
	}
}
