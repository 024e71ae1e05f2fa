package webserver

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, err := io.ReadAll(rec.Result().Body)
	if err != nil {
		t.Fatal(err)
	}
	return rec.Code, string(body)
}

func TestRootServesIndexHTML(t *testing.T) {
	dir := t.TempDir()
	const page = "<html><body>kitten</body></html>\n"
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "other.txt"), []byte("other"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := Handler(dir)
	if code, body := get(t, h, "/"); code != http.StatusOK || body != page {
		t.Fatalf("GET / = %d %q, want 200 %q", code, body, page)
	}
	if code, body := get(t, h, "/other.txt"); code != http.StatusOK || body != "other" {
		t.Fatalf("GET /other.txt = %d %q", code, body)
	}
	if code, _ := get(t, h, "/missing"); code != http.StatusNotFound {
		t.Fatalf("GET /missing = %d, want 404", code)
	}
}

func TestResolveRoot(t *testing.T) {
	dir := t.TempDir()
	if got, err := resolveRoot(dir); err != nil || got != dir {
		t.Fatalf("resolveRoot(%q) = %q, %v", dir, got, err)
	}
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := resolveRoot(file); err == nil {
		t.Fatal("resolveRoot accepted a regular file")
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := resolveRoot(""); err != nil || got != wd {
		t.Fatalf("resolveRoot(\"\") = %q, %v; want %q", got, err, wd)
	}
}
