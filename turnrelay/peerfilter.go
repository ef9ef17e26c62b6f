package turnrelay

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// deniedByDefault are the peer ranges a relay refuses unless --allow-peers
// opens them: everything that is not the public Internet. A TURN relay that
// forwards to these is an SSRF proxy into its own network (the coturn
// CVE-2020-26262 class: loopback, 0.0.0.0/8, ::, link-local metadata
// services, private services reached through IPv4-mapped IPv6).
var deniedByDefault = []struct {
	prefix string
	why    string
}{
	// IPv4
	{"0.0.0.0/8", "\"this network\" (RFC 791); 0.0.0.0 reaches local services on Linux (CVE-2020-26262)"},
	{"10.0.0.0/8", "private (RFC 1918)"},
	{"100.64.0.0/10", "carrier-grade NAT shared space (RFC 6598): the provider's internal network"},
	{"127.0.0.0/8", "loopback: services on the relay itself"},
	{"169.254.0.0/16", "link-local (RFC 3927), incl. cloud metadata at 169.254.169.254"},
	{"172.16.0.0/12", "private (RFC 1918)"},
	{"192.0.0.0/24", "IETF protocol assignments (RFC 6890), incl. DS-Lite 192.0.0.0/29"},
	{"192.0.2.0/24", "documentation TEST-NET-1 (RFC 5737): never a real peer"},
	{"192.88.99.0/24", "deprecated 6to4 relay anycast (RFC 7526)"},
	{"192.168.0.0/16", "private (RFC 1918)"},
	{"198.18.0.0/15", "benchmarking (RFC 2544): lab networks"},
	{"198.51.100.0/24", "documentation TEST-NET-2 (RFC 5737)"},
	{"203.0.113.0/24", "documentation TEST-NET-3 (RFC 5737)"},
	{"224.0.0.0/4", "multicast: one datagram to many hosts"},
	{"240.0.0.0/4", "reserved (RFC 1112), incl. limited broadcast 255.255.255.255"},
	// IPv6
	{"::/96", "unspecified ::, loopback ::1 and deprecated IPv4-compatible addresses (RFC 4291)"},
	{"64:ff9b:1::/48", "local-use NAT64 (RFC 8215): translators inside the operator's network"},
	{"100::/64", "discard-only (RFC 6666)"},
	{"2001::/32", "Teredo (RFC 4380): tunnels whose embedded client address cannot be checked"},
	{"2001:2::/48", "benchmarking (RFC 5180)"},
	{"2001:10::/28", "deprecated ORCHID (RFC 4843)"},
	{"2001:20::/28", "ORCHIDv2 (RFC 7343): not routable"},
	{"2001:db8::/32", "documentation (RFC 3849)"},
	{"3fff::/20", "documentation (RFC 9637)"},
	{"5f00::/16", "SRv6 SIDs (RFC 9602): not reachable as peers"},
	{"fc00::/7", "unique local addresses (RFC 4193): the IPv6 private ranges"},
	{"fe80::/10", "link-local"},
	{"fec0::/10", "deprecated site-local (RFC 3879)"},
	{"ff00::/8", "multicast"},
}

// Embedded IPv4 forms, checked against the IPv4 rules as well.
var (
	// IPv4-mapped (::ffff:0:0/96) is unmapped first: it is the IPv4 address.
	nat64WellKnown = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052: v4 in the low 32 bits
	sixToFour      = netip.MustParsePrefix("2002::/16")    // RFC 3056: v4 in bits 16-47
)

// DefaultDeniedPeers returns the ranges denied by default, with the reason
// for each, for documentation and --help.
func DefaultDeniedPeers() map[netip.Prefix]string {
	out := make(map[netip.Prefix]string, len(deniedByDefault))
	for _, d := range deniedByDefault {
		out[netip.MustParsePrefix(d.prefix)] = d.why
	}
	return out
}

type peerRule struct {
	prefix netip.Prefix
	deny   bool
	rank   int // at equal length the lower rank decides: ruleDeny, ruleAllow, ruleDefault
}

const (
	ruleDeny    = iota // --deny-peers
	ruleAllow          // --allow-peers
	ruleDefault        // deniedByDefault
)

// PeerFilter decides which peer addresses a client may reach through the
// relay. Precedence: the most specific prefix that contains the address
// decides; at equal length an operator rule beats a default one, and
// --deny-peers beats --allow-peers; an address no rule covers is allowed.
// So allowing 127.0.0.1/32 opens one loopback address, allowing 10.0.0.0/8
// opens that private range, denying 10.1.0.0/16 inside it closes it again,
// and denying 8.8.8.0/24 closes a public range. IPv4-mapped IPv6 addresses are judged as the IPv4 address;
// NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses are refused when
// either the IPv6 address or the IPv4 address they embed is refused.
//
// A PeerFilter is immutable and safe for concurrent use; Allowed does not
// allocate.
type PeerFilter struct {
	v4, v6 []peerRule // most specific first, deny before allow at equal length
}

// NewPeerFilter builds the default filter adjusted by allow and deny.
func NewPeerFilter(allow, deny []netip.Prefix) (*PeerFilter, error) {
	var rules []peerRule
	for _, d := range deniedByDefault {
		rules = append(rules, peerRule{prefix: netip.MustParsePrefix(d.prefix), deny: true, rank: ruleDefault})
	}
	for _, p := range allow {
		if !p.IsValid() {
			return nil, fmt.Errorf("invalid allow-peers prefix %v", p)
		}
		rules = append(rules, peerRule{prefix: canonical(p), rank: ruleAllow})
	}
	for _, p := range deny {
		if !p.IsValid() {
			return nil, fmt.Errorf("invalid deny-peers prefix %v", p)
		}
		rules = append(rules, peerRule{prefix: canonical(p), deny: true, rank: ruleDeny})
	}
	f := &PeerFilter{}
	for _, r := range rules {
		if r.prefix.Addr().Is4() {
			f.v4 = append(f.v4, r)
		} else {
			f.v6 = append(f.v6, r)
		}
	}
	order := func(a, b peerRule) int {
		if a.prefix.Bits() != b.prefix.Bits() {
			return b.prefix.Bits() - a.prefix.Bits()
		}
		return a.rank - b.rank
	}
	slices.SortStableFunc(f.v4, order)
	slices.SortStableFunc(f.v6, order)
	return f, nil
}

// canonical turns an IPv4-mapped prefix (::ffff:10.0.0.0/104) into its IPv4
// form so it meets the unmapped addresses it is meant for, and masks host
// bits.
func canonical(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked()
}

// Allowed reports whether the relay may send to and receive from ip.
func (f *PeerFilter) Allowed(ip netip.Addr) bool {
	ip = ip.WithZone("")
	if ip.Is4In6() {
		ip = ip.Unmap()
	}
	if ip.Is4() {
		return decide(f.v4, ip)
	}
	if !ip.Is6() {
		return false
	}
	if !decide(f.v6, ip) {
		return false
	}
	b := ip.As16()
	switch {
	case nat64WellKnown.Contains(ip):
		return decide(f.v4, netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
	case sixToFour.Contains(ip):
		return decide(f.v4, netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
	}
	return true
}

func decide(rules []peerRule, ip netip.Addr) bool {
	for i := range rules {
		if rules[i].prefix.Contains(ip) {
			return !rules[i].deny
		}
	}
	return true
}

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
