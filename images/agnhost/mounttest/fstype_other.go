//go:build !linux

package mounttest

import (
	"fmt"
	"runtime"
)

func fsTypeName(path string) (string, error) {
	return "", fmt.Errorf("filesystem type of %q: not available on %s", path, runtime.GOOS)
}
