package netexec

import (
	"context"
	"fmt"
	"log"
	"net"
	"strings"

	"e2e-images/agnhost/internal/command"
)

// UDPReply answers one UDP command: "hostname", "echo <text>" or "clientip".
// Anything else gets an empty reply, so the sender still sees a datagram.
func UDPReply(msg string, host string, from net.Addr) string {
	msg = strings.TrimSpace(msg)
	cmd, arg, _ := strings.Cut(msg, " ")
	switch cmd {
	case "hostname":
		return host
	case "echo":
		return arg
	case "clientip":
		return from.String()
	default:
		return ""
	}
}

// ServeUDP answers each datagram on pc with UDPReply until ctx ends.
func ServeUDP(ctx context.Context, pc net.PacketConn, host string) error {
	log.Printf("serving UDP on %s", pc.LocalAddr())
	stop := command.CloseOnDone(ctx, pc)
	defer stop()
	buf := make([]byte, 64*1024)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read on %s: %w", pc.LocalAddr(), err)
		}
		reply := UDPReply(string(buf[:n]), host, addr)
		if _, err := pc.WriteTo([]byte(reply), addr); err != nil {
			log.Printf("reply to %s: %v", addr, err)
		}
	}
}
