// Package command holds what every agnhost subcommand shares: the Command
// type, flag parsing that reports usage errors distinctly, and the serve loop
// that turns a cancelled context into a clean shutdown.
package command

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// Command is one agnhost subcommand.
type Command struct {
	Name    string
	Summary string
	// Run executes the command. ctx is cancelled on SIGINT/SIGTERM, which a
	// long-running command treats as a request to stop cleanly (exit 0).
	Run func(ctx context.Context, args []string, out io.Writer) error
}

// UsageError marks bad command-line input, so main exits 2 without
// printing the message a second time (the flag package already did).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// NewFlagSet returns a flag set that returns errors instead of exiting, so
// commands stay testable in-process.
func NewFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	return fs
}

// Parse parses args into fs. -h gives flag.ErrHelp unchanged; any other
// parse failure, or an unexpected positional argument, is a *UsageError.
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &UsageError{Err: err}
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
		fmt.Fprintln(fs.Output(), err)
		return &UsageError{Err: err}
	}
	return nil
}

// Usagef reports a flag combination the flag package cannot catch itself,
// printed like its own errors, and returns it as a *UsageError.
func Usagef(fs *flag.FlagSet, format string, a ...any) error {
	err := fmt.Errorf(format, a...)
	fmt.Fprintf(fs.Output(), "%s: %v\n", fs.Name(), err)
	return &UsageError{Err: err}
}
