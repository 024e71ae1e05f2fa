// Package webserver implements "agnhost test-webserver": a static file
// server, used by the kitten and nautilus images to serve the index.html
// they put at the image root.
package webserver

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"

	"e2e-images/agnhost/internal/command"
)

const name = "test-webserver"

// Command serves a directory over HTTP.
var Command = command.Command{
	Name:    name,
	Summary: "serve the files of --root (default: the working directory) over HTTP",
	Run:     run,
}

func run(ctx context.Context, args []string, _ io.Writer) error {
	fs := command.NewFlagSet(name)
	port := fs.Int("port", 80, "TCP port to serve on")
	root := fs.String("root", "", "directory to serve (default: the working directory)")
	if err := command.Parse(fs, args); err != nil {
		return err
	}
	dir, err := resolveRoot(*root)
	if err != nil {
		return err
	}
	ln, err := command.ListenTCP(*port)
	if err != nil {
		return err
	}
	return command.ServeHTTP(ctx, ln, Handler(dir))
}

// Handler serves the tree under dir; a directory request answers with its
// index.html when there is one, a listing otherwise.
func Handler(dir string) http.Handler {
	return http.FileServer(http.Dir(dir))
}

func resolveRoot(root string) (string, error) {
	if root == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("working directory: %w", err)
		}
		root = wd
	}
	fi, err := os.Stat(root)
	if err != nil {
		return "", fmt.Errorf("root: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("root %q is not a directory", root)
	}
	return root, nil
}
