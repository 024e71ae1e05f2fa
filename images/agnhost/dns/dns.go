// Package dns implements "agnhost dns-suffix" and "agnhost dns-server-list":
// they print the resolver configuration the container actually got, so a
// test can check a pod's dnsConfig/dnsPolicy on Linux and Windows alike.
package dns

import (
	"context"
	"fmt"
	"io"
	"strings"

	"e2e-images/agnhost/internal/command"
)

// SuffixCommand prints the DNS search suffixes, comma-separated.
var SuffixCommand = command.Command{
	Name:    "dns-suffix",
	Summary: "print the DNS search suffixes, comma-separated",
	Run: func(ctx context.Context, args []string, out io.Writer) error {
		return printList(ctx, "dns-suffix", args, out, searchSuffixes)
	},
}

// ServerListCommand prints the DNS servers, comma-separated.
var ServerListCommand = command.Command{
	Name:    "dns-server-list",
	Summary: "print the DNS server addresses, comma-separated",
	Run: func(ctx context.Context, args []string, out io.Writer) error {
		return printList(ctx, "dns-server-list", args, out, serverList)
	},
}

func printList(ctx context.Context, name string, args []string, out io.Writer,
	list func(context.Context) ([]string, error)) error {
	if err := command.Parse(command.NewFlagSet(name), args); err != nil {
		return err
	}
	items, err := list(ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, strings.Join(items, ","))
	return err
}

// dedupe keeps the first occurrence of each item, comparing case-insensitively
// (DNS names are), and drops empty items.
func dedupe(items []string) []string {
	seen := make(map[string]bool, len(items))
	var out []string
	for _, it := range items {
		key := strings.ToLower(it)
		if it == "" || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, it)
	}
	return out
}
