package relay

import "net/netip"

// Client is the party a selection is for, as selection sees it: the network
// it is in and where GeoIP puts it. It never holds the client's address,
// which stays at the HTTP edge.
//
// A client prefix identifies a network, often a household: like the address
// it must never be logged, so Client renders redacted.
type Client struct {
	Prefix   netip.Prefix // ClientPrefix of its address; zero when unknown
	Location Location     // valid only when Located
	Located  bool
}

// String hides the prefix.
func (Client) String() string { return "[client]" }

// ClientPrefix is the network a client address is grouped into for
// measurements and rendezvous spreading: its /24 for IPv4 and its /48 for
// IPv6 (the usual size of one site's assignment, and the granularity below
// which routing rarely differs). IPv4-mapped IPv6 addresses
// (::ffff:a.b.c.d) count as the IPv4 address they carry, and zones are
// dropped. The zero Addr yields the zero Prefix.
func ClientPrefix(a netip.Addr) netip.Prefix {
	a = a.Unmap().WithZone("")
	var p netip.Prefix
	switch {
	case a.Is4():
		p, _ = a.Prefix(24) // cannot fail: 24 is within 0..32
	case a.Is6():
		p, _ = a.Prefix(48) // cannot fail: 48 is within 0..128
	}
	return p
}
