package netpolicy

import (
	"fmt"
	"net/netip"
	"strings"
)

// ParsePrefixes parses a comma-separated CIDR list as --allow-peers and
// --deny-peers take it. A bare address is its /32 or /128. Any malformed
// entry is an error: a relay must not start with a filter it did not mean.
func ParsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("entry %d %q is not a CIDR or IP address", i+1, s)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("entry %d %q is not a CIDR: %w", i+1, s, err)
		}
		if p.Masked() != p {
			return nil, fmt.Errorf("entry %d %q has host bits set (did you mean %v?)", i+1, s, p.Masked())
		}
		out = append(out, p)
	}
	return out, nil
}
