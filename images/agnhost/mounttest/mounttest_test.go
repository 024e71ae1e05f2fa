package mounttest

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestFormatModeAndPerm(t *testing.T) {
	table := []struct {
		m          os.FileMode
		mode, perm string
	}{
		{0o644, "-rw-r--r--", "-rw-r--r--"},
		{0o777 | os.ModeDir, "drwxrwxrwx", "-rwxrwxrwx"},
		{0o777 | os.ModeDir | os.ModeSticky, "dtrwxrwxrwx", "-rwxrwxrwx"},
		{0o660 | os.ModeSetuid, "urw-rw----", "-rw-rw----"},
		{0o777 | os.ModeSymlink, "Lrwxrwxrwx", "-rwxrwxrwx"},
	}
	for _, c := range table {
		if got := FormatMode(c.m); got != c.mode {
			t.Errorf("FormatMode(%o) = %q, want %q", c.m, got, c.mode)
		}
		if got := FormatPerm(c.m); got != c.perm {
			t.Errorf("FormatPerm(%o) = %q, want %q", c.m, got, c.perm)
		}
	}
}

func TestMagicName(t *testing.T) {
	if got := MagicName(0x01021994); got != "tmpfs" {
		t.Errorf("tmpfs magic = %q", got)
	}
	if got := MagicName(0x12345678); got != "0x12345678" {
		t.Errorf("unknown magic = %q", got)
	}
}

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := Command.Run(context.Background(), args, &out)
	return out.String(), err
}

func TestNewFileThenReport(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("unix permission bits")
	}
	dir := t.TempDir()
	for _, perm := range []string{"0644", "0666", "0660", "0777"} {
		path := filepath.Join(dir, "f"+perm)
		out, err := runCmd(t, "--new_file_"+perm+"="+path, "--file_perm="+path,
			"--file_mode", path, "--file_content="+path, "--file_owner="+path)
		if err != nil {
			t.Fatal(err)
		}
		var m os.FileMode
		fmt.Sscanf(perm, "%o", &m)
		want := fmt.Sprintf("mode of file %q: %s\nperms of file %q: %s\n"+
			"owner UID of %q: %d\nowner GID of %q: %d\ncontent of file %q: %s\n",
			path, m, path, m, path, os.Getuid(), path, os.Getgid(), path, newFileContent)
		if out != want {
			t.Errorf("output:\n%s\nwant:\n%s", out, want)
		}
	}
}

func TestDirModeShowsSticky(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("unix permission bits")
	}
	dir := filepath.Join(t.TempDir(), "sticky")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, "--file_mode="+dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("mode of file %q: dtrwxrwxrwx\n", dir); out != want {
		t.Fatalf("got %q, want %q", out, want)
	}
}

func TestFSType(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("statfs magic is Linux-only")
	}
	dir := t.TempDir()
	out, err := runCmd(t, "--fs_type="+dir)
	if err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("mount type of %q: ", dir)
	if !strings.HasPrefix(out, prefix) || len(out) <= len(prefix)+1 {
		t.Fatalf("got %q", out)
	}
}

func TestMissingFileIsAnError(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	if _, err := runCmd(t, "--file_perm="+missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want not-exist", err)
	}
}

func TestContentInLoopWaitsForContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "late")
	go func() {
		time.Sleep(300 * time.Millisecond)
		_ = os.WriteFile(path, []byte("arrived"), 0o644)
	}()
	out, err := runCmd(t, "--file_content_in_loop="+path, "--retry_time=10")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out, fmt.Sprintf("content of file %q: arrived\n", path)) {
		t.Fatalf("got %q", out)
	}
	if !strings.Contains(out, "error reading file content") {
		t.Fatalf("expected a retry line before the content, got %q", out)
	}
}

func TestUnknownFlagIsUsageError(t *testing.T) {
	_, err := runCmd(t, "--no_such_flag=1")
	if err == nil || errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v", err)
	}
}
