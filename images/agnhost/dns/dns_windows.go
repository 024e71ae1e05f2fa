//go:build windows

package dns

import (
	"context"
	"fmt"
	"net"
	"os"
)

// searchSuffixes works without the registry and without golang.org/x/sys:
// the logon domain from USERDNSDOMAIN plus the domain part of the host's
// FQDN as the system resolver reports it. A per-adapter connection-specific
// search list set only in the registry is not visible this way.
func searchSuffixes(ctx context.Context) ([]string, error) {
	host, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("hostname: %w", err)
	}
	fqdn := lookupFQDN(ctx, net.DefaultResolver, host)
	return windowsSuffixes(os.Getenv("USERDNSDOMAIN"), host, fqdn), nil
}

// serverList asks the net package, which reads the DNS servers of the
// network adapters on Windows, which servers it would query.
func serverList(ctx context.Context) ([]string, error) {
	return ProbeServers(ctx)
}
