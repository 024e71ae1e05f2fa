package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

type fakeSource struct {
	host, fqdn string
	err        error
}

func (f fakeSource) Hostname() (string, error)           { return f.host, f.err }
func (f fakeSource) FQDN(context.Context, string) string { return f.fqdn }

func runArgs(src source, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut, src)
	return code, out.String(), errOut.String()
}

func TestFlags(t *testing.T) {
	src := fakeSource{host: "web-0", fqdn: "web-0.nginx.default.svc.cluster.local"}
	cases := []struct {
		args []string
		want string
	}{
		{nil, "web-0\n"},
		{[]string{"-f"}, "web-0.nginx.default.svc.cluster.local\n"},
		{[]string{"--fqdn"}, "web-0.nginx.default.svc.cluster.local\n"},
		{[]string{"-s"}, "web-0\n"},
	}
	for _, c := range cases {
		if code, out, _ := runArgs(src, c.args...); code != 0 || out != c.want {
			t.Errorf("hostname %v = %d %q, want %q", c.args, code, out, c.want)
		}
	}
	dotted := fakeSource{host: "win-1.corp.example"}
	if _, out, _ := runArgs(dotted, "--short"); out != "win-1\n" {
		t.Errorf("--short of a dotted name = %q", out)
	}
}

func TestFQDNFallsBackToShortName(t *testing.T) {
	if _, out, _ := runArgs(fakeSource{host: "lonely"}, "-f"); out != "lonely\n" {
		t.Fatalf("got %q", out)
	}
}

func TestErrors(t *testing.T) {
	src := fakeSource{host: "h"}
	if code, _, errOut := runArgs(src, "newname"); code != 2 || !strings.Contains(errOut, "not supported") {
		t.Errorf("setting the name = %d %q", code, errOut)
	}
	if code, _, _ := runArgs(src, "-f", "-s"); code != 2 {
		t.Errorf("-f -s = %d, want 2", code)
	}
	if code, _, _ := runArgs(src, "--bogus"); code != 2 {
		t.Errorf("--bogus = %d, want 2", code)
	}
	if code, _, _ := runArgs(fakeSource{err: errors.New("boom")}); code != 1 {
		t.Errorf("hostname failure = %d, want 1", code)
	}
}

type fakeResolver struct {
	cname string
	hosts map[string][]string
	ptrs  map[string][]string
}

var errNotFound = errors.New("not found")

func (f fakeResolver) LookupCNAME(context.Context, string) (string, error) {
	if f.cname == "" {
		return "", errNotFound
	}
	return f.cname, nil
}

func (f fakeResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	if a, ok := f.hosts[host]; ok {
		return a, nil
	}
	return nil, errNotFound
}

func (f fakeResolver) LookupAddr(_ context.Context, addr string) ([]string, error) {
	if n, ok := f.ptrs[addr]; ok {
		return n, nil
	}
	return nil, errNotFound
}

func TestLookupFQDN(t *testing.T) {
	ctx := context.Background()
	if got := lookupFQDN(ctx, fakeResolver{cname: "h.example.org."}, "h"); got != "h.example.org" {
		t.Errorf("from CNAME: %q", got)
	}
	r := fakeResolver{
		cname: "", // as the Go resolver answers for a hosts-file name
		hosts: map[string][]string{"h": {"127.0.0.1", "10.0.0.2"}},
		ptrs: map[string][]string{
			"127.0.0.1": {"localhost.localdomain.", "localhost."},
			"10.0.0.2":  {"h.pods.example.", "h."},
		},
	}
	if got := lookupFQDN(ctx, r, "h"); got != "h.pods.example" {
		t.Errorf("preferring the host's own name: %q", got)
	}
	if got := lookupFQDN(ctx, fakeResolver{}, "h"); got != "" {
		t.Errorf("nothing known: %q", got)
	}
}

func TestPickFQDN(t *testing.T) {
	if got := pickFQDN("h", []string{"a.example", "H.b.example"}); got != "H.b.example" {
		t.Errorf("got %q", got)
	}
	if got := pickFQDN("h", []string{"a.example"}); got != "a.example" {
		t.Errorf("got %q", got)
	}
	if got := pickFQDN("h", nil); got != "" {
		t.Errorf("got %q", got)
	}
}

// TestRealSystem runs the real lookups: one line, and a name other than
// the host name has to be a dotted one.
func TestRealSystem(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runArgs(system{}, "-f")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	name := strings.TrimSuffix(out, "\n")
	if name == "" || strings.Contains(name, "\n") {
		t.Fatalf("hostname -f printed %q", out)
	}
	if name != host && !strings.Contains(name, ".") {
		t.Fatalf("hostname -f = %q is neither the host name %q nor dotted", name, host)
	}
}
