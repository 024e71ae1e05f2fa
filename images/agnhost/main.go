// Command agnhost is the multi-purpose test binary of the e2e images: one
// executable whose first argument names the behaviour (pause, netexec, ...),
// so a single image serves many tests.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"e2e-images/agnhost/dns"
	"e2e-images/agnhost/internal/command"
	"e2e-images/agnhost/liveness"
	"e2e-images/agnhost/mounttest"
	"e2e-images/agnhost/netexec"
	"e2e-images/agnhost/pause"
	"e2e-images/agnhost/porter"
	"e2e-images/agnhost/servehostname"
	"e2e-images/agnhost/webserver"
)

// Version is set at link time: -ldflags "-X 'main.Version=2.52'".
var Version string

func commands() []command.Command {
	cmds := []command.Command{
		dns.SuffixCommand,
		dns.ServerListCommand,
		liveness.Command,
		mounttest.Command,
		netexec.Command,
		pause.Command,
		porter.Command,
		servehostname.Command,
		webserver.Command,
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name < cmds[j].Name })
	return cmds
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches args to a subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stdout)
		return 0
	}
	switch args[0] {
	case "--version", "-version", "version":
		fmt.Fprintln(stdout, version())
		return 0
	case "-h", "--help", "help":
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.Name != args[0] {
			continue
		}
		err := c.Run(ctx, args[1:], stdout)
		var usageErr *command.UsageError
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &usageErr):
			return 2
		default:
			fmt.Fprintf(stderr, "agnhost %s: %v\n", c.Name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "agnhost: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func version() string {
	if Version == "" {
		return "dev"
	}
	return Version
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "agnhost %s: a test binary with one behaviour per subcommand.\n\n", version())
	fmt.Fprintln(w, "Usage: agnhost <command> [flags]   (agnhost <command> -h lists its flags)")
	fmt.Fprintln(w, "       agnhost --version")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-16s %s\n", c.Name, c.Summary)
	}
}
