package netexec

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

type fakeProcess struct {
	exitCodes []int
	commands  []string
}

func (p *fakeProcess) handler() http.Handler {
	return NewHandler(Options{
		Hostname: "netexec-pod",
		Exit:     func(code int) { p.exitCodes = append(p.exitCodes, code) },
		Shell: func(cmdline string) ([]byte, error) {
			p.commands = append(p.commands, cmdline)
			if cmdline == "fail" {
				return []byte("boom\n"), errors.New("exit status 3")
			}
			return []byte("ran: " + cmdline), nil
		},
	})
}

func do(t *testing.T, h http.Handler, target string, mutate func(*http.Request)) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.RemoteAddr = "10.1.2.3:45678"
	if mutate != nil {
		mutate(req)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestSimpleEndpoints(t *testing.T) {
	h := (&fakeProcess{}).handler()
	cases := []struct {
		target, want string
		mutate       func(*http.Request)
	}{
		{"/hostname", "netexec-pod", nil},
		{"/echo?msg=" + url.QueryEscape("hi there"), "hi there", nil},
		{"/echo", "", nil},
		{"/clientip", "10.1.2.3:45678", nil},
		{"/healthz", "ok", nil},
		{"/header?key=X-Probe", "yes", func(r *http.Request) { r.Header.Set("X-Probe", "yes") }},
	}
	for _, c := range cases {
		rec := do(t, h, c.target, c.mutate)
		if rec.Code != http.StatusOK || rec.Body.String() != c.want {
			t.Errorf("GET %s = %d %q, want 200 %q", c.target, rec.Code, rec.Body.String(), c.want)
		}
	}
	if rec := do(t, h, "/no-such-endpoint", nil); rec.Code != http.StatusNotFound {
		t.Errorf("GET /no-such-endpoint = %d, want 404", rec.Code)
	}
}

func TestEchoAcceptsPostForm(t *testing.T) {
	h := (&fakeProcess{}).handler()
	req := httptest.NewRequest(http.MethodPost, "/echo", strings.NewReader("msg=posted"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Body.String() != "posted" {
		t.Fatalf("POST /echo = %q, want posted", rec.Body.String())
	}
}

func TestExit(t *testing.T) {
	p := &fakeProcess{}
	h := p.handler()
	if rec := do(t, h, "/exit?code=3", nil); rec.Code != http.StatusOK || rec.Body.String() != "exiting with code 3" {
		t.Fatalf("GET /exit?code=3 = %d %q", rec.Code, rec.Body.String())
	}
	do(t, h, "/exit", nil)
	for _, bad := range []string{"x", "-1", "256"} {
		if rec := do(t, h, "/exit?code="+bad, nil); rec.Code != http.StatusBadRequest {
			t.Errorf("GET /exit?code=%s = %d, want 400", bad, rec.Code)
		}
	}
	if len(p.exitCodes) != 2 || p.exitCodes[0] != 3 || p.exitCodes[1] != 0 {
		t.Fatalf("exit codes = %v, want [3 0]", p.exitCodes)
	}
}

func TestShell(t *testing.T) {
	p := &fakeProcess{}
	h := p.handler()
	var res ShellResult
	rec := do(t, h, "/shell?cmd="+url.QueryEscape("echo a b"), nil)
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
		t.Fatalf("decode %q: %v", rec.Body.String(), err)
	}
	if res.Output != "ran: echo a b" || res.Error != "" {
		t.Fatalf("shell result = %+v", res)
	}
	res = ShellResult{}
	rec = do(t, h, "/shell?cmd=fail", nil)
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Output != "boom\n" || res.Error != "exit status 3" {
		t.Fatalf("failing shell result = %+v", res)
	}
	if rec := do(t, h, "/shell", nil); rec.Code != http.StatusBadRequest {
		t.Fatalf("GET /shell without cmd = %d, want 400", rec.Code)
	}
	if len(p.commands) != 2 {
		t.Fatalf("commands run = %q", p.commands)
	}
}

func TestRunShellForReal(t *testing.T) {
	out, err := runShell("echo real")
	if err != nil || strings.TrimSpace(string(out)) != "real" {
		t.Fatalf("runShell = %q, %v", out, err)
	}
}

func TestUDPReply(t *testing.T) {
	from := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 9), Port: 5353}
	cases := map[string]string{
		"hostname":       "h1",
		"hostname\n":     "h1",
		"echo some text": "some text",
		"clientip":       "10.0.0.9:5353",
		"bogus":          "",
	}
	for msg, want := range cases {
		if got := UDPReply(msg, "h1", from); got != want {
			t.Errorf("UDPReply(%q) = %q, want %q", msg, got, want)
		}
	}
}

func TestServeUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeUDP(ctx, pc, "udp-host") }()
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("echo ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("reply = %q, %v", buf[:n], err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ServeUDP after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeUDP did not stop")
	}
}
