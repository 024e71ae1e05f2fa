// Command hostname prints the host name, for the Windows busybox image
// (busybox.exe has no hostname applet) and for parity on Linux. Like the
// Unix tool, -f/--fqdn prints the fully-qualified name and -s/--short the
// name up to its first dot.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, system{}))
}

// system is where the real program gets its names from.
type system struct{}

func (system) Hostname() (string, error) { return os.Hostname() }

func (system) FQDN(ctx context.Context, host string) string {
	if name, ok := systemFQDN(); ok {
		return name
	}
	return lookupFQDN(ctx, net.DefaultResolver, host)
}

// source abstracts the host's names so run can be tested without them.
type source interface {
	Hostname() (string, error)
	// FQDN returns a dotted name for host, or "" when none is known.
	FQDN(ctx context.Context, host string) string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, src source) int {
	fs := flag.NewFlagSet("hostname", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var fqdn, short bool
	fs.BoolVar(&fqdn, "f", false, "print the fully-qualified domain name")
	fs.BoolVar(&fqdn, "fqdn", false, "same as -f")
	fs.BoolVar(&short, "s", false, "print the name up to the first dot")
	fs.BoolVar(&short, "short", false, "same as -s")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "hostname: setting the host name is not supported")
		return 2
	}
	if fqdn && short {
		fmt.Fprintln(stderr, "hostname: -f and -s are mutually exclusive")
		return 2
	}
	host, err := src.Hostname()
	if err != nil {
		fmt.Fprintf(stderr, "hostname: %v\n", err)
		return 1
	}
	switch {
	case short:
		host, _, _ = strings.Cut(host, ".")
	case fqdn:
		if name := src.FQDN(ctx, host); name != "" {
			host = name
		}
	}
	fmt.Fprintln(stdout, host)
	return 0
}
