package porter

import (
	"context"
	"io"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"testing"
	"time"
)

func TestParsePorts(t *testing.T) {
	env := []string{
		"PATH=/bin",
		"SERVE_PORT_9080=foo",
		"SERVE_TLS_PORT_443=secure=yes",
		"SERVE_PORT_80=",
		"NOT_SERVE_PORT_1=x",
	}
	got, err := ParsePorts(env)
	if err != nil {
		t.Fatal(err)
	}
	want := []Port{
		{Number: 80, Body: ""},
		{Number: 443, Body: "secure=yes", TLS: true},
		{Number: 9080, Body: "foo"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestParsePortsErrors(t *testing.T) {
	for _, env := range [][]string{
		{"SERVE_PORT_http=x"},
		{"SERVE_PORT_0=x"},
		{"SERVE_PORT_65536=x"},
		{"SERVE_PORT_80=a", "SERVE_TLS_PORT_80=b"},
	} {
		if _, err := ParsePorts(env); err == nil {
			t.Errorf("ParsePorts(%q) accepted", env)
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestServeAllAnswersEachPort(t *testing.T) {
	a, b := freePort(t), freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serveAll(ctx, []Port{{Number: a, Body: "alpha"}, {Number: b, Body: "beta"}}, "", "")
	}()
	client := &http.Client{Timeout: 2 * time.Second}
	for port, want := range map[int]string{a: "alpha", b: "beta"} {
		url := "http://127.0.0.1:" + strconv.Itoa(port) + "/any/path"
		var body string
		for i := 0; i < 50; i++ {
			resp, err := client.Get(url)
			if err == nil {
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				body = string(raw)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if body != want {
			t.Errorf("port %d answered %q, want %q", port, body, want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serveAll after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serveAll did not stop")
	}
}
