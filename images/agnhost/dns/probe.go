package dns

import (
	"context"
	"errors"
	"net"
	"sync"
)

// probeName is never meant to resolve; the lookup only has to start.
const probeName = "agnhost-dns-server-probe.invalid."

var errProbeDial = errors.New("probe: dial refused on purpose")

// ProbeServers returns the DNS servers Go's own resolver would query, in
// order. It runs a lookup whose Dial hook records each server address (the
// net package documents that the hook gets a literal IP) and refuses to
// connect, so nothing leaves the host. The net package reads the servers
// from resolv.conf on Unix and from the network adapters on Windows.
func ProbeServers(ctx context.Context) ([]string, error) {
	var (
		mu   sync.Mutex
		seen []string
	)
	r := &net.Resolver{
		PreferGo: true,
		Dial: func(_ context.Context, _, address string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				host = address
			}
			mu.Lock()
			seen = append(seen, host)
			mu.Unlock()
			return nil, errProbeDial
		},
	}
	// "ip4" asks for A records only: one query per server and attempt.
	_, err := r.LookupNetIP(ctx, "ip4", probeName)
	if err == nil {
		return nil, errors.New("probe: the probe name unexpectedly resolved")
	}
	if len(seen) == 0 {
		return nil, errors.New("probe: the resolver queried no server")
	}
	return dedupe(seen), nil
}
