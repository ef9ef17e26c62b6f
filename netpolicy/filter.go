package netpolicy

import (
	"fmt"
	"net/netip"
	"slices"
)

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

// Filter decides which peer addresses a client may reach through the
// relay. Precedence: the most specific prefix that contains the address
// decides; at equal length an operator rule beats a default one, and
// --deny-peers beats --allow-peers; an address no rule covers is allowed.
// So allowing 127.0.0.1/32 opens one loopback address, allowing 10.0.0.0/8
// opens that private range, denying 10.1.0.0/16 inside it closes it again,
// and denying 8.8.8.0/24 closes a public range. IPv4-mapped IPv6 addresses
// are judged as the IPv4 address;
// NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses are refused when
// either the IPv6 address or the IPv4 address they embed is refused.
//
// A Filter is immutable and safe for concurrent use; Allowed does not
// allocate.
type Filter struct {
	v4, v6 []peerRule // most specific first, deny before allow at equal length
}

// New builds the default filter adjusted by allow and deny.
func New(allow, deny []netip.Prefix) (*Filter, error) {
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
	f := &Filter{}
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
func (f *Filter) Allowed(ip netip.Addr) bool {
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
