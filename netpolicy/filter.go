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
	ruleDeny    = iota // the operator's deny prefixes (--deny-peers)
	ruleAllow          // the operator's allow prefixes (--allow-peers, --allow-relay-networks)
	ruleDefault        // deniedByDefault
)

// Filter decides which addresses may be reached: a relay's peers, or the
// relay addresses a gateway accepts. Precedence: the most specific prefix
// that contains the address decides; at equal length an operator rule
// beats a default one, and a deny rule beats an allow rule; an address no
// rule covers is allowed. So allowing 127.0.0.1/32 opens one loopback
// address, allowing 10.0.0.0/8 opens that private range, denying
// 10.1.0.0/16 inside it closes it again, and denying 8.8.8.0/24 closes a
// public range. IPv4-mapped IPv6 addresses are judged as the IPv4 address;
// NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses are refused when
// either the IPv6 address or the IPv4 address they embed is refused; the
// other forms that embed an IPv4 address (IPv4-compatible, IPv4-translated,
// Teredo, local-use NAT64) are refused whole.
//
// A Filter is immutable and safe for concurrent use; Allowed and DeniedBy
// do not allocate.
type Filter struct {
	v4, v6 []peerRule // most specific first, deny before allow at equal length
}

// New builds the default filter adjusted by the operator's allow and deny
// prefixes. IPv4-mapped prefixes (::ffff:10.0.0.0/104) count as the IPv4
// prefix they map.
func New(allow, deny []netip.Prefix) (*Filter, error) {
	var rules []peerRule
	for _, d := range deniedByDefault {
		rules = append(rules, peerRule{prefix: netip.MustParsePrefix(d.prefix), deny: true, rank: ruleDefault})
	}
	for _, p := range allow {
		if !p.IsValid() {
			return nil, fmt.Errorf("invalid allow prefix %v", p)
		}
		rules = append(rules, peerRule{prefix: canonical(p), rank: ruleAllow})
	}
	for _, p := range deny {
		if !p.IsValid() {
			return nil, fmt.Errorf("invalid deny prefix %v", p)
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

// Allowed reports whether ip may be reached: a relay may send to and
// receive from it, a gateway may accept it as a relay's address.
func (f *Filter) Allowed(ip netip.Addr) bool {
	_, denied := f.DeniedBy(ip)
	return !denied
}

// DeniedBy reports whether ip is refused and, when it is, the prefix of the
// rule that refuses it: for a NAT64 or 6to4 address whose embedded IPv4
// address is refused, the IPv4 rule's. An invalid address is refused by no
// rule (the zero Prefix).
func (f *Filter) DeniedBy(ip netip.Addr) (netip.Prefix, bool) {
	ip = ip.WithZone("")
	if ip.Is4In6() {
		ip = ip.Unmap()
	}
	if ip.Is4() {
		return decide(f.v4, ip)
	}
	if !ip.Is6() {
		return netip.Prefix{}, true
	}
	if p, denied := decide(f.v6, ip); denied {
		return p, true
	}
	b := ip.As16()
	switch {
	case nat64WellKnown.Contains(ip):
		return decide(f.v4, netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
	case sixToFour.Contains(ip):
		return decide(f.v4, netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
	}
	return netip.Prefix{}, false
}

// decide returns the most specific rule of rules that contains ip, when it
// denies.
func decide(rules []peerRule, ip netip.Addr) (netip.Prefix, bool) {
	for i := range rules {
		if rules[i].prefix.Contains(ip) {
			return rules[i].prefix, rules[i].deny
		}
	}
	return netip.Prefix{}, false
}
