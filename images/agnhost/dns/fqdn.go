package dns

import (
	"context"
	"strings"
	"time"
)

// lookupTimeout bounds the name lookups behind the FQDN, so a cluster with
// an unreachable DNS server still gets an answer (possibly empty) quickly.
const lookupTimeout = 3 * time.Second

type resolver interface {
	LookupCNAME(ctx context.Context, host string) (string, error)
	LookupHost(ctx context.Context, host string) ([]string, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// lookupFQDN finds a dotted name for host: its canonical name, else a name
// of one of its addresses (hosts file, then PTR); "" when none has a dot.
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
	// Prefer the host's own entry over, say, localhost.localdomain.
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

// domainOf returns the DNS domain of fqdn: what follows host (or, when
// fqdn names a different host, its first label).
func domainOf(host, fqdn string) string {
	fqdn = strings.TrimSuffix(fqdn, ".")
	if len(fqdn) > len(host)+1 && strings.EqualFold(fqdn[:len(host)+1], host+".") {
		return fqdn[len(host)+1:]
	}
	if _, rest, ok := strings.Cut(fqdn, "."); ok {
		return rest
	}
	return ""
}

// windowsSuffixes combines what Windows exposes without the registry: the
// logon domain (USERDNSDOMAIN) and the domain of the host's FQDN.
func windowsSuffixes(userDNSDomain, host, fqdn string) []string {
	return dedupe([]string{strings.TrimSuffix(userDNSDomain, "."), domainOf(host, fqdn)})
}
