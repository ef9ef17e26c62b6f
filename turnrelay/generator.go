package turnrelay

import (
	"errors"
	"net"
	"net/netip"

	"github.com/pion/turn/v5"

	"github.com/relaygate/relaygate/turnrelay/dataplane"
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
)

// generator is the RelayAddressGenerator: it reserves capacity, binds a
// relay socket in the port range and advertises the public address.
type generator struct{ s *Server }

func (g generator) Validate() error { return nil }

func (g generator) AllocatePacketConn(cfg turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	s := g.s
	var bind, public netip.Addr
	switch cfg.Network {
	case "udp4":
		bind, public = s.bind4, s.public4
	case "udp6":
		bind, public = s.bind6, s.public6
	}
	if !public.IsValid() {
		return nil, nil, errNoFamily
	}
	if err := s.reserve(cfg.UserID); err != nil {
		return nil, nil, err
	}
	r := s.cfg.RelayPorts
	conn, port, err := dataplane.BindRelay(cfg.Network, bind, r.Min, r.Max, cfg.RequestedPort)
	if err != nil {
		s.ledger.Release(cfg.UserID)
		return nil, nil, err
	}
	user := cfg.UserID
	rc := s.data.Wrap(conn, netip.AddrPortFrom(public, uint16(port)), func() { s.ledger.Release(user) })
	return rc, &net.UDPAddr{IP: public.AsSlice(), Port: port}, nil
}

func (g generator) AllocateListener(turn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	return nil, nil, errTCPAllocsOff
}

func (g generator) AllocateConn(turn.AllocateConnConfig) (net.Conn, error) {
	return nil, errTCPAllocsOff
}
