// Package servehostname implements "agnhost serve-hostname": every request,
// connection or datagram is answered with the pod's hostname, which lets a
// test see which backend of a Service answered.
package servehostname

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"

	"e2e-images/agnhost/internal/command"
)

const name = "serve-hostname"

// Command answers with the hostname over HTTP, TCP and/or UDP.
var Command = command.Command{
	Name:    name,
	Summary: "reply with the hostname over HTTP (default), TCP and/or UDP on --port",
	Run:     run,
}

type options struct {
	port            int
	http, tcp, udp  bool
	closeAfterReply bool
}

func run(ctx context.Context, args []string, _ io.Writer) error {
	fs := command.NewFlagSet(name)
	var o options
	fs.IntVar(&o.port, "port", 9376, "port to serve on")
	fs.BoolVar(&o.http, "http", true, "serve HTTP on --port")
	fs.BoolVar(&o.tcp, "tcp", false, "serve raw TCP on --port (write the hostname, then close)")
	fs.BoolVar(&o.udp, "udp", false, "serve UDP on --port (answer each datagram)")
	fs.BoolVar(&o.closeAfterReply, "close", false, "HTTP: close the connection after each reply")
	if err := command.Parse(fs, args); err != nil {
		return err
	}
	if o.http && o.tcp {
		return command.Usagef(fs, "--http and --tcp cannot share --port; pass --http=false")
	}
	if !o.http && !o.tcp && !o.udp {
		return command.Usagef(fs, "nothing to serve: enable --http, --tcp or --udp")
	}
	host, err := os.Hostname()
	if err != nil {
		return fmt.Errorf("hostname: %w", err)
	}
	return serveAll(ctx, o, host)
}

// serveAll runs the enabled servers until ctx ends or one fails.
func serveAll(ctx context.Context, o options, host string) error {
	var servers []func(context.Context) error
	var ln net.Listener
	if o.http || o.tcp {
		var err error
		if ln, err = command.ListenTCP(o.port); err != nil {
			return err
		}
		if o.http {
			h := Handler(host, o.closeAfterReply)
			servers = append(servers, func(ctx context.Context) error { return command.ServeHTTP(ctx, ln, h) })
		} else {
			servers = append(servers, func(ctx context.Context) error { return ServeTCP(ctx, ln, host) })
		}
	}
	if o.udp {
		pc, err := net.ListenPacket("udp", net.JoinHostPort("", strconv.Itoa(o.port)))
		if err != nil {
			if ln != nil {
				ln.Close()
			}
			return fmt.Errorf("listen on udp port %d: %w", o.port, err)
		}
		servers = append(servers, func(ctx context.Context) error { return ServeUDP(ctx, pc, host) })
	}
	return command.RunAll(ctx, servers...)
}

// Handler answers every HTTP request with host.
func Handler(host string, closeAfterReply bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if closeAfterReply {
			w.Header().Set("Connection", "close")
		}
		fmt.Fprint(w, host)
	})
}

// ServeTCP writes host to each accepted connection and closes it.
func ServeTCP(ctx context.Context, ln net.Listener, host string) error {
	log.Printf("serving TCP on %s", ln.Addr())
	stop := command.CloseOnDone(ctx, ln)
	defer stop()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("accept on %s: %w", ln.Addr(), err)
		}
		go func() {
			defer conn.Close()
			if _, err := io.WriteString(conn, host); err != nil {
				log.Printf("write to %s: %v", conn.RemoteAddr(), err)
			}
		}()
	}
}

// ServeUDP answers each datagram received on pc with host.
func ServeUDP(ctx context.Context, pc net.PacketConn, host string) error {
	log.Printf("serving UDP on %s", pc.LocalAddr())
	stop := command.CloseOnDone(ctx, pc)
	defer stop()
	buf := make([]byte, 2048)
	for {
		_, addr, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read on %s: %w", pc.LocalAddr(), err)
		}
		if _, err := pc.WriteTo([]byte(host), addr); err != nil {
			log.Printf("reply to %s: %v", addr, err)
		}
	}
}
