package turnrelay

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/pion/turn/v5"
)

// Allocation refusals. pion answers an error from the relay address
// generator with 508 (Insufficient Capacity), which RFC 8656 §7.2 gives for
// a server out of relay resources; 486 (Allocation Quota Reached) is for
// one username's quota and comes from the QuotaHandler.
var (
	errDraining     = errors.New("turnrelay: draining, no new allocations")
	errFull         = errors.New("turnrelay: max allocations reached")
	errBandwidth    = errors.New("turnrelay: bandwidth budget exhausted")
	errUserQuota    = errors.New("turnrelay: user quota reached")
	errNoFamily     = errors.New("turnrelay: no relay address for this address family")
	errNoPort       = errors.New("turnrelay: no free relay port")
	errTCPAllocsOff = errors.New("turnrelay: TCP allocations (RFC 6062) are not offered")
)

// limiter is a lock-free GCRA token bucket over relayed bytes: tat is the
// theoretical arrival time of the next byte in ns since base. One atomic
// CAS per packet, no allocation.
type limiter struct {
	bps   int64
	burst int64 // ns of credit a burst may use
	base  time.Time
	tat   atomic.Int64
}

func newLimiter(bps int64) *limiter {
	if bps <= 0 {
		return nil
	}
	l := &limiter{bps: bps, base: time.Now()}
	l.burst = max(int64(200*time.Millisecond), l.cost(2048)) // at least one full datagram
	return l
}

// cost is the time n bytes take at the budget, in ns.
func (l *limiter) cost(n int) int64 { return int64(n) * 8e9 / l.bps }

// allow takes n bytes from the budget, or reports that they do not fit.
func (l *limiter) allow(n int) bool {
	if l == nil {
		return true
	}
	now := int64(time.Since(l.base))
	c := l.cost(n)
	for range 16 { // bounded CAS retries; losing them all drops one packet
		tat := l.tat.Load()
		next := max(tat, now) + c
		if next-now > l.burst {
			return false
		}
		if l.tat.CompareAndSwap(tat, next) {
			return true
		}
	}
	return false
}

// saturated reports that more than half of the burst is in use: the node is
// at its bandwidth budget and takes no new allocations.
func (l *limiter) saturated() bool {
	if l == nil {
		return false
	}
	return l.tat.Load()-int64(time.Since(l.base)) > l.burst/2
}

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
	if !c.s.limiter.allow(len(p)) {
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
		if !c.s.limiter.allow(n) {
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
		c.s.release(c.user)
	}
	return c.PacketConn.Close()
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
		s.release(cfg.UserID)
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
