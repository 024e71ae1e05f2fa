//go:build linux

package mounttest

import (
	"fmt"
	"syscall"
)

func fsTypeName(path string) (string, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return "", fmt.Errorf("statfs %q: %w", path, err)
	}
	// Statfs_t.Type is int32, uint32 or int64 depending on the arch;
	// filesystem magics are 32-bit.
	return MagicName(uint32(st.Type)), nil
}
