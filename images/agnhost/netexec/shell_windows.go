//go:build windows

package netexec

import (
	"os/exec"
	"syscall"
)

// runShell runs cmdline with cmd.exe. The command line is passed raw: Go's
// argument quoting uses backslash escapes, which cmd.exe does not understand,
// while "/s /c "<line>"" makes cmd.exe strip exactly the outer quotes.
func runShell(cmdline string) ([]byte, error) {
	cmd := exec.Command("cmd.exe")
	cmd.SysProcAttr = &syscall.SysProcAttr{CmdLine: `cmd.exe /s /c "` + cmdline + `"`}
	return cmd.CombinedOutput()
}
