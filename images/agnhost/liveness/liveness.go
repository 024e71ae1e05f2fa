// Package liveness implements "agnhost liveness": an HTTP server whose
// /healthz turns from healthy to failing after a while, so a liveness probe
// test sees the kubelet restart the container.
package liveness

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"e2e-images/agnhost/internal/command"
)

const name = "liveness"

// Command serves /healthz: 200 during --healthy-for, then 500.
var Command = command.Command{
	Name:    name,
	Summary: "serve /healthz: 200 for the first 10 seconds, 500 afterwards",
	Run:     run,
}

func run(ctx context.Context, args []string, _ io.Writer) error {
	fs := command.NewFlagSet(name)
	port := fs.Int("port", 8080, "HTTP port")
	healthyFor := fs.Duration("healthy-for", 10*time.Second, "how long /healthz answers 200")
	if err := command.Parse(fs, args); err != nil {
		return err
	}
	ln, err := command.ListenTCP(*port)
	if err != nil {
		return err
	}
	return command.ServeHTTP(ctx, ln, Handler(time.Now(), *healthyFor, time.Now))
}

// Handler serves /healthz relative to started, reading the time from now.
func Handler(started time.Time, healthyFor time.Duration, now func() time.Time) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		age := now().Sub(started)
		if age < healthyFor {
			fmt.Fprint(w, "ok")
			return
		}
		http.Error(w, fmt.Sprintf("error: unhealthy after %v", age.Round(time.Millisecond)),
			http.StatusInternalServerError)
	})
	return mux
}
