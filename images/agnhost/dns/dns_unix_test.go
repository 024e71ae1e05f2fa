//go:build !windows

package dns

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
)

// TestProbeServersMatchesResolvConf checks the Windows server discovery on
// Linux, where the net package reads the same /etc/resolv.conf we parse.
func TestProbeServersMatchesResolvConf(t *testing.T) {
	rc, err := readResolvConf()
	if err != nil {
		t.Skipf("no resolv.conf to compare with: %v", err)
	}
	want := rc.Nameservers
	if len(want) == 0 {
		want = []string{"127.0.0.1", "::1"} // the net package's default
	}
	if len(want) > 3 {
		want = want[:3] // the resolver uses at most three
	}
	got, err := ProbeServers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ProbeServers = %q, resolv.conf has %q", got, want)
	}
}

func TestCommandsPrintCommaSeparated(t *testing.T) {
	rc, err := readResolvConf()
	if err != nil {
		t.Skipf("no resolv.conf: %v", err)
	}
	var out bytes.Buffer
	if err := ServerListCommand.Run(context.Background(), nil, &out); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), strings.Join(rc.Nameservers, ",")+"\n"; got != want {
		t.Fatalf("dns-server-list printed %q, want %q", got, want)
	}
	out.Reset()
	if err := SuffixCommand.Run(context.Background(), nil, &out); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), strings.Join(rc.Search, ",")+"\n"; got != want {
		t.Fatalf("dns-suffix printed %q, want %q", got, want)
	}
}
