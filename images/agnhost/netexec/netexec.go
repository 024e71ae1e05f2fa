// Package netexec implements "agnhost netexec": an HTTP (and UDP) server
// that tests poke to learn who answered, echo data, see the client address
// or make the container exit with a chosen code.
package netexec

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"e2e-images/agnhost/internal/command"
)

const name = "netexec"

// Command runs the netexec servers.
var Command = command.Command{
	Name:    name,
	Summary: "HTTP server with /hostname, /echo, /clientip, /header, /exit, /healthz, /shell",
	Run:     run,
}

// exitDelay lets the /exit response reach the client before the process ends.
const exitDelay = 100 * time.Millisecond

func run(ctx context.Context, args []string, _ io.Writer) error {
	fs := command.NewFlagSet(name)
	httpPort := fs.Int("http-port", 8080, "HTTP port")
	udpPort := fs.Int("udp-port", 8081, "UDP port (-1 disables UDP)")
	if err := command.Parse(fs, args); err != nil {
		return err
	}
	host, err := os.Hostname()
	if err != nil {
		return fmt.Errorf("hostname: %w", err)
	}
	ln, err := command.ListenTCP(*httpPort)
	if err != nil {
		return err
	}
	var pc net.PacketConn
	if *udpPort >= 0 {
		if pc, err = net.ListenPacket("udp", net.JoinHostPort("", strconv.Itoa(*udpPort))); err != nil {
			ln.Close()
			return fmt.Errorf("listen on udp port %d: %w", *udpPort, err)
		}
	}
	h := NewHandler(Options{
		Hostname: host,
		Exit: func(code int) {
			time.AfterFunc(exitDelay, func() { os.Exit(code) })
		},
		Shell: runShell,
	})
	servers := []func(context.Context) error{
		func(ctx context.Context) error { return command.ServeHTTP(ctx, ln, h) },
	}
	if pc != nil {
		servers = append(servers, func(ctx context.Context) error { return ServeUDP(ctx, pc, host) })
	}
	return command.RunAll(ctx, servers...)
}
