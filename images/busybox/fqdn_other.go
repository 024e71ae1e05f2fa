//go:build !windows

package main

// systemFQDN has no direct source on Unix: the name comes from the resolver.
func systemFQDN() (string, bool) { return "", false }
