package servehostname

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"e2e-images/agnhost/internal/command"
)

func TestHandlerRepliesHostname(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler("pod-a", true).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/anything", nil))
	if rec.Body.String() != "pod-a" {
		t.Fatalf("body = %q, want pod-a", rec.Body.String())
	}
	if rec.Header().Get("Connection") != "close" {
		t.Fatal("--close did not set Connection: close")
	}
}

func TestServeTCPAndUDP(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tcpDone := make(chan error, 1)
	udpDone := make(chan error, 1)
	go func() { tcpDone <- ServeTCP(ctx, ln, "pod-b") }()
	go func() { udpDone <- ServeUDP(ctx, pc, "pod-b") }()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(conn)
	conn.Close()
	if err != nil || string(got) != "pod-b" {
		t.Fatalf("tcp reply = %q, %v", got, err)
	}

	uc, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	if err := uc.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := uc.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := uc.Read(buf)
	if err != nil || string(buf[:n]) != "pod-b" {
		t.Fatalf("udp reply = %q, %v", buf[:n], err)
	}

	cancel()
	for name, ch := range map[string]chan error{"tcp": tcpDone, "udp": udpDone} {
		select {
		case err := <-ch:
			if err != nil {
				t.Fatalf("%s server returned %v after cancel", name, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s server did not stop after cancel", name)
		}
	}
}

func TestConflictingFlagsAreUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"--tcp"}, {"--http=false"}} {
		err := Command.Run(context.Background(), args, io.Discard)
		var usage *command.UsageError
		if !errors.As(err, &usage) {
			t.Errorf("serve-hostname %v: err = %v, want a usage error", args, err)
		}
	}
}
