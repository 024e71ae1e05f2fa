//go:build !windows

package mounttest

import (
	"fmt"
	"os"
	"syscall"
)

func owner(path string) (uid, gid uint32, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, 0, fmt.Errorf("stat %q: %w", path, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, fmt.Errorf("stat %q: no owner information", path)
	}
	return st.Uid, st.Gid, nil
}
