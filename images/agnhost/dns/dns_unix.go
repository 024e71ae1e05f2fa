//go:build !windows

package dns

import (
	"context"
	"fmt"
	"os"
)

const resolvConfPath = "/etc/resolv.conf"

func readResolvConf() (ResolvConf, error) {
	f, err := os.Open(resolvConfPath)
	if err != nil {
		return ResolvConf{}, fmt.Errorf("open %s: %w", resolvConfPath, err)
	}
	defer f.Close()
	return ParseResolvConf(f)
}

func searchSuffixes(context.Context) ([]string, error) {
	rc, err := readResolvConf()
	return rc.Search, err
}

func serverList(context.Context) ([]string, error) {
	rc, err := readResolvConf()
	return rc.Nameservers, err
}
