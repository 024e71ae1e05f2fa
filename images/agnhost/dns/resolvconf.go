package dns

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// ResolvConf is the part of resolv.conf(5) the commands report.
type ResolvConf struct {
	Nameservers []string
	Search      []string
}

// ParseResolvConf reads resolv.conf text. As in the C resolver, the last
// "search" or "domain" line wins, and "#" or ";" start a comment line.
func ParseResolvConf(r io.Reader) (ResolvConf, error) {
	var rc ResolvConf
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' || text[0] == ';' {
			continue
		}
		fields := strings.Fields(text)
		switch fields[0] {
		case "nameserver":
			if len(fields) < 2 {
				return ResolvConf{}, fmt.Errorf("resolv.conf line %d: nameserver without an address", line)
			}
			rc.Nameservers = append(rc.Nameservers, fields[1])
		case "search":
			rc.Search = append([]string(nil), fields[1:]...)
		case "domain":
			if len(fields) > 1 {
				rc.Search = []string{fields[1]}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return ResolvConf{}, fmt.Errorf("read resolv.conf: %w", err)
	}
	return rc, nil
}
