// Package pause implements "agnhost pause": a process that does nothing
// until it is told to stop, the default command of the agnhost image.
package pause

import (
	"context"
	"io"
	"log"

	"e2e-images/agnhost/internal/command"
)

// Command blocks until SIGINT or SIGTERM and then exits 0.
var Command = command.Command{
	Name:    "pause",
	Summary: "block until SIGTERM or SIGINT, then exit 0",
	Run:     run,
}

func run(ctx context.Context, args []string, _ io.Writer) error {
	if err := command.Parse(command.NewFlagSet("pause"), args); err != nil {
		return err
	}
	log.Print("paused; waiting for SIGTERM or SIGINT")
	<-ctx.Done()
	log.Print("signal received, exiting")
	return nil
}
