package turnrelay

import (
	"errors"
	"net"
	"net/netip"

	"github.com/pion/turn/v5"
)

// Allocation refusals of the relay address generator, besides quota's and
// dataplane.ErrNoPort. pion answers any error from the generator with 508
// (Insufficient Capacity), which RFC 8656 §7.2 gives for a server out of
// relay resources; 486 (Allocation Quota Reached) is for one username's
// quota and comes from the QuotaHandler (a request that raced past it gets
// quota.ErrUserQuota here, so 508).
var (
	errNoFamily     = errors.New("turnrelay: no relay address for this address family")
	errTCPAllocsOff = errors.New("turnrelay: TCP allocations (RFC 6062) are not offered")
	errRevoked      = errors.New("turnrelay: the user is revoked")
)

// relayIPs are, per address family, the socket address relay ports bind on
// (the listener's IP when specific, else the wildcard) and the address
// advertised in XOR-RELAYED-ADDRESS (--public-ip, else the listener's IP).
type relayIPs struct {
	bind4, public4 netip.Addr
	bind6, public6 netip.Addr
}

// newRelayIPs derives the relay addresses from validated listeners and
// public IPs.
func newRelayIPs(listeners []Listener, publicIPs []netip.Addr) (relayIPs, error) {
	r := relayIPs{bind4: netip.IPv4Unspecified(), bind6: netip.IPv6Unspecified()}
	for _, l := range listeners {
		ip := netip.MustParseAddrPort(l.Addr).Addr().Unmap()
		if ip.IsUnspecified() {
			continue
		}
		if ip.Is4() && r.bind4.IsUnspecified() {
			r.bind4, r.public4 = ip, ip
		}
		if ip.Is6() && r.bind6.IsUnspecified() {
			r.bind6, r.public6 = ip, ip
		}
	}
	for _, ip := range publicIPs {
		if ip = ip.Unmap(); ip.Is4() {
			r.public4 = ip
		} else {
			r.public6 = ip
		}
	}
	if !r.public4.IsValid() && !r.public6.IsValid() {
		return relayIPs{}, errors.New("public-ip is required when the listeners bind a wildcard address")
	}
	return r, nil
}

// forNetwork returns the bind and advertised address for pion's network
// ("udp4", "udp6"); an invalid advertised address means none.
func (r relayIPs) forNetwork(network string) (bind, public netip.Addr) {
	switch network {
	case "udp4":
		return r.bind4, r.public4
	case "udp6":
		return r.bind6, r.public6
	}
	return netip.Addr{}, netip.Addr{}
}

// advertised lists the advertised addresses, IPv4 first.
func (r relayIPs) advertised() []netip.Addr {
	var out []netip.Addr
	for _, ip := range []netip.Addr{r.public4, r.public6} {
		if ip.IsValid() {
			out = append(out, ip)
		}
	}
	return out
}

// generator is the RelayAddressGenerator: it reserves capacity, binds a
// relay socket in the port range and advertises the public address.
type generator struct{ s *Server }

func (g generator) Validate() error { return nil }

func (g generator) AllocatePacketConn(cfg turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	s := g.s
	bind, public := s.ips.forNetwork(cfg.Network)
	if !public.IsValid() {
		return nil, nil, errNoFamily
	}
	if s.revs.revoked(cfg.UserID, s.cfg.Now()) {
		return nil, nil, errRevoked
	}
	if err := s.reserve(cfg.UserID); err != nil {
		return nil, nil, err
	}
	r := s.cfg.RelayPorts
	conn, port, err := s.data.BindRelay(cfg.Network, bind, r.Min, r.Max, cfg.RequestedPort)
	if err != nil {
		s.ledger.Release(cfg.UserID)
		return nil, nil, err
	}
	user := cfg.UserID // the pseudonym (authenticate)
	conn = s.usage.Wrap(conn, user)
	var rc net.PacketConn
	rc = s.data.Wrap(conn, netip.AddrPortFrom(public, uint16(port)), func() { //nolint:gosec // G115: BindRelay's port lies in RelayPorts, uint16s
		s.revs.untrack(user, rc)
		s.ledger.Release(user)
	})
	if !s.revs.admit(user, rc, s.cfg.Now()) { // revoked while this allocation was being made
		_ = rc.Close()
		return nil, nil, errRevoked
	}
	return rc, &net.UDPAddr{IP: public.AsSlice(), Port: port}, nil
}

func (g generator) AllocateListener(turn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	return nil, nil, errTCPAllocsOff
}

func (g generator) AllocateConn(turn.AllocateConnConfig) (net.Conn, error) {
	return nil, errTCPAllocsOff
}
