package main

import (
	"context"
	"strings"
	"time"
)

// lookupTimeout keeps -f quick when the DNS servers are unreachable; the
// short name is printed then, as the Unix tool does for an unresolvable host.
const lookupTimeout = 3 * time.Second

type resolver interface {
	LookupCNAME(ctx context.Context, host string) (string, error)
	LookupHost(ctx context.Context, host string) ([]string, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// lookupFQDN finds a dotted name for host: its DNS canonical name, else a
// name of one of its addresses (hosts file first, then PTR), preferring
// names that start with host. It returns "" when nothing dotted is found.
func lookupFQDN(ctx context.Context, r resolver, host string) string {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	if cname, err := r.LookupCNAME(ctx, host); err == nil {
		if name := strings.TrimSuffix(cname, "."); strings.Contains(name, ".") {
			return name
		}
	}
	addrs, err := r.LookupHost(ctx, host)
	if err != nil {
		return ""
	}
	var names []string
	for _, a := range addrs {
		ptrs, err := r.LookupAddr(ctx, a)
		if err != nil {
			continue
		}
		for _, n := range ptrs {
			if name := strings.TrimSuffix(n, "."); strings.Contains(name, ".") {
				names = append(names, name)
			}
		}
	}
	return pickFQDN(host, names)
}

// pickFQDN prefers a name whose first label is host, then the first name.
func pickFQDN(host string, names []string) string {
	for _, n := range names {
		if len(n) > len(host) && strings.EqualFold(n[:len(host)+1], host+".") {
			return n
		}
	}
	if len(names) > 0 {
		return names[0]
	}
	return ""
}
