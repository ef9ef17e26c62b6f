package netpolicy

import "net/netip"

// deniedByDefault are the ranges refused unless the operator allows them:
// everything that is not the public Internet. A TURN relay that forwards to
// these is an SSRF proxy into its own network (the coturn CVE-2020-26262
// class: loopback, 0.0.0.0/8, ::, link-local metadata services, private
// services reached through IPv4-mapped IPv6); a gateway that registers a
// relay at one hands its clients, and sends its probes to, the same.
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
	{"168.63.129.16/32", "Azure's host endpoint (WireServer, DNS, IMDS-like metadata), reachable from inside Azure only"},
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
	{"::ffff:0:0:0/96", "IPv4-translated addresses (RFC 2765): an IPv4 address in a form no network routes"},
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

// DefaultDenied returns the ranges denied by default, with the reason for
// each, for documentation, --help and tests.
func DefaultDenied() map[netip.Prefix]string {
	out := make(map[netip.Prefix]string, len(deniedByDefault))
	for _, d := range deniedByDefault {
		out[netip.MustParsePrefix(d.prefix)] = d.why
	}
	return out
}
