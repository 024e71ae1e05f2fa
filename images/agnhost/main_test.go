package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func runArgs(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestVersion(t *testing.T) {
	old := Version
	defer func() { Version = old }()
	Version = "2.52"
	if code, out, _ := runArgs(context.Background(), "--version"); code != 0 || out != "2.52\n" {
		t.Fatalf("--version = %d %q", code, out)
	}
	Version = ""
	if _, out, _ := runArgs(context.Background(), "--version"); out != "dev\n" {
		t.Fatalf("unset version printed %q", out)
	}
}

func TestNoArgsPrintsUsageWithEveryCommand(t *testing.T) {
	code, out, _ := runArgs(context.Background())
	if code != 0 || !strings.HasPrefix(out, "agnhost ") {
		t.Fatalf("no args = %d %q", code, out)
	}
	for _, name := range []string{
		"dns-server-list", "dns-suffix", "liveness", "mounttest", "netexec",
		"pause", "porter", "serve-hostname", "test-webserver",
	} {
		if !strings.Contains(out, "\n  "+name+" ") {
			t.Errorf("usage lacks %q:\n%s", name, out)
		}
	}
}

func TestUnknownCommandAndBadFlag(t *testing.T) {
	if code, _, errOut := runArgs(context.Background(), "no-such"); code != 2 || !strings.Contains(errOut, `"no-such"`) {
		t.Fatalf("unknown command = %d %q", code, errOut)
	}
	if code, _, _ := runArgs(context.Background(), "pause", "--bogus"); code != 2 {
		t.Fatalf("bad flag exit code = %d, want 2", code)
	}
	if code, _, _ := runArgs(context.Background(), "pause", "-h"); code != 0 {
		t.Fatalf("-h exit code = %d, want 0", code)
	}
}

func TestPauseReturnsOnSignal(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // as if SIGTERM had arrived
	if code, _, _ := runArgs(ctx, "pause"); code != 0 {
		t.Fatalf("pause exit code = %d, want 0", code)
	}
}

func TestCommandErrorsExitOne(t *testing.T) {
	code, _, errOut := runArgs(context.Background(), "test-webserver", "--root=/no/such/dir", "--port=0")
	if code != 1 || !strings.Contains(errOut, "agnhost test-webserver:") {
		t.Fatalf("failing command = %d %q", code, errOut)
	}
}
