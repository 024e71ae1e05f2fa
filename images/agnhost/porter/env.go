package porter

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

const (
	plainPrefix = "SERVE_PORT_"
	tlsPrefix   = "SERVE_TLS_PORT_"
)

// Port is one port porter serves, parsed from SERVE_PORT_<n>=<body> or
// SERVE_TLS_PORT_<n>=<body>.
type Port struct {
	Number int
	Body   string
	TLS    bool
}

// ParsePorts reads the ports from an environment in os.Environ form,
// sorted by port number. A malformed or duplicated port is an error.
func ParsePorts(environ []string) ([]Port, error) {
	var ports []Port
	seen := map[int]string{}
	for _, kv := range environ {
		key, value, _ := strings.Cut(kv, "=")
		var p Port
		var num string
		switch {
		case strings.HasPrefix(key, tlsPrefix):
			num, p.TLS = strings.TrimPrefix(key, tlsPrefix), true
		case strings.HasPrefix(key, plainPrefix):
			num = strings.TrimPrefix(key, plainPrefix)
		default:
			continue
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%s: %q is not a port number in 1..65535", key, num)
		}
		if prev, dup := seen[n]; dup {
			return nil, fmt.Errorf("%s: port %d already set by %s", key, n, prev)
		}
		seen[n] = key
		p.Number, p.Body = n, value
		ports = append(ports, p)
	}
	sort.Slice(ports, func(i, j int) bool { return ports[i].Number < ports[j].Number })
	return ports, nil
}
