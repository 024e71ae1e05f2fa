//go:build !windows

package netexec

import "os/exec"

// runShell runs cmdline with /bin/sh, as the /shell endpoint promises.
func runShell(cmdline string) ([]byte, error) {
	return exec.Command("/bin/sh", "-c", cmdline).CombinedOutput()
}
