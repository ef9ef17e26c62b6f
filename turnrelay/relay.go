package turnrelay

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync/atomic"

	"github.com/pion/turn/v5"
)

// Allocation refusals of the relay address generator besides quota's.
// pion answers an error from the generator with 508 (Insufficient
// Capacity), which RFC 8656 §7.2 gives for a server out of relay resources
// (quota.ErrDraining, ErrFull, ErrBandwidth and ErrUserQuota included: a
// user's quota raced past the QuotaHandler's 486 check); 486 (Allocation
// Quota Reached) is for one username's quota and comes from the
// QuotaHandler.
var (
	errNoFamily     = errors.New("turnrelay: no relay address for this address family")
	errNoPort       = errors.New("turnrelay: no free relay port")
	errTCPAllocsOff = errors.New("turnrelay: TCP allocations (RFC 6062) are not offered")
)

// counters are the relay's hot-path counters, read by metrics and
// heartbeats.
type counters struct {
	bytesToPeer, bytesFromPeer     atomic.Uint64
	packetsToPeer, packetsFromPeer atomic.Uint64
	droppedBandwidth               atomic.Uint64
	droppedPeer                    atomic.Uint64
}

// relayConn is the relayed transport address of one allocation. It counts
// what it relays, enforces the bandwidth budget, re-checks the peer filter
// on every send (defence in depth behind pion's permission check) and
// returns its reservation when pion closes it.
//
// Its reads are plain recvfrom calls: batching them with recvmmsg (as the
// listener does) was measured slower, since a relay socket rarely has more
// than one datagram queued (bench/relay/README.md).
type relayConn struct {
	net.PacketConn
	s      *Server
	user   string
	addr   netip.AddrPort // the advertised relayed address, the fast path's key
	ft     *fiveTuple     // the UDP client's allocation, guarded by fastPath.mu
	closed atomic.Bool
}

// WriteTo sends a client's datagram to a peer. Refused or over-budget
// datagrams are dropped silently: TURN has no per-packet error.
func (c *relayConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, fmt.Errorf("turnrelay: relay to %T", addr)
	}
	ip, _ := netip.AddrFromSlice(ua.IP)
	if !c.s.filter.Allowed(ip) {
		c.s.ctr.droppedPeer.Add(1)
		c.s.metrics.peerDenied.Inc()
		return len(p), nil
	}
	if !c.s.allowBytes(len(p)) {
		c.s.ctr.droppedBandwidth.Add(1)
		return len(p), nil
	}
	n, err := c.PacketConn.WriteTo(p, addr)
	if err == nil {
		c.s.ctr.bytesToPeer.Add(uint64(n))
		c.s.ctr.packetsToPeer.Add(1)
	}
	return n, err
}

// ReadFrom receives a peer's datagram for the client, dropping what is over
// the bandwidth budget.
func (c *relayConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil {
			return n, addr, err
		}
		if !c.s.allowBytes(n) {
			c.s.ctr.droppedBandwidth.Add(1)
			continue
		}
		c.s.ctr.bytesFromPeer.Add(uint64(n))
		c.s.ctr.packetsFromPeer.Add(1)
		return n, addr, nil
	}
}

// Close releases the allocation's reservation once and closes the socket.
func (c *relayConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.s.fast.unregister(c)
		c.s.ledger.Release(c.user)
	}
	return c.PacketConn.Close()
}

// allowBytes takes n bytes from the bandwidth budget, if there is one.
func (s *Server) allowBytes(n int) bool {
	bw := s.ledger.Bandwidth()
	return bw == nil || bw.Allow(n, s.cfg.Now())
}

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
	conn, port, err := s.bindRelay(cfg.Network, bind, cfg.RequestedPort)
	if err != nil {
		s.ledger.Release(cfg.UserID)
		return nil, nil, err
	}
	rc := &relayConn{PacketConn: conn, s: s, user: cfg.UserID, addr: netip.AddrPortFrom(public, uint16(port))}
	s.fast.register(rc)
	return rc, &net.UDPAddr{IP: public.AsSlice(), Port: port}, nil
}

func (g generator) AllocateListener(turn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	return nil, nil, errTCPAllocsOff
}

func (g generator) AllocateConn(turn.AllocateConnConfig) (net.Conn, error) {
	return nil, errTCPAllocsOff
}

// bindRelay binds a UDP socket on ip at requested, or at a random port of
// the range (a bounded number of tries, then a scan from a random start).
func (s *Server) bindRelay(network string, ip netip.Addr, requested int) (net.PacketConn, int, error) {
	try := func(port int) (net.PacketConn, error) {
		return net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port))))
	}
	r := s.cfg.RelayPorts
	if requested != 0 {
		if requested < int(r.Min) || requested > int(r.Max) {
			return nil, 0, errNoPort
		}
		c, err := try(requested)
		if err != nil {
			return nil, 0, errNoPort
		}
		return c, requested, nil
	}
	size := r.Size()
	for i := range min(size, 32) {
		port := int(r.Min) + rand.IntN(size)
		if i == 0 && size == 1 {
			port = int(r.Min)
		}
		if c, err := try(port); err == nil {
			return c, port, nil
		}
	}
	start := rand.IntN(size)
	for i := range min(size, 4096) {
		port := int(r.Min) + (start+i)%size
		if c, err := try(port); err == nil {
			return c, port, nil
		}
	}
	return nil, 0, errNoPort
}
