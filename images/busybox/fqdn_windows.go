//go:build windows

package main

import (
	"syscall"
	"unsafe"
)

// computerNameDNSFullyQualified is COMPUTER_NAME_FORMAT's
// ComputerNameDnsFullyQualified: host name plus primary DNS suffix.
const computerNameDNSFullyQualified = 3

var procGetComputerNameExW = syscall.NewLazyDLL("kernel32.dll").NewProc("GetComputerNameExW")

// systemFQDN asks Windows for the name it registers in DNS, which needs no
// lookup; an undotted answer (no primary suffix) defers to the resolver.
func systemFQDN() (string, bool) {
	if err := procGetComputerNameExW.Find(); err != nil {
		return "", false
	}
	n := uint32(256)
	for i := 0; i < 2; i++ {
		buf := make([]uint16, n)
		r, _, err := procGetComputerNameExW.Call(computerNameDNSFullyQualified,
			uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)))
		if r != 0 {
			name := syscall.UTF16ToString(buf[:n])
			return name, containsDot(name)
		}
		if err != syscall.ERROR_MORE_DATA {
			return "", false
		}
		// n now holds the size needed, terminator included.
	}
	return "", false
}

func containsDot(s string) bool {
	for _, c := range s {
		if c == '.' {
			return true
		}
	}
	return false
}
