package dataplane

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync/atomic"
)

// relayConn is the relayed transport address of one allocation. It counts
// what it relays, enforces the bandwidth budget, re-checks the peer filter
// on every send (defence in depth behind the control plane's permission
// check) and gives its reservation back once when it is closed.
//
// Its reads are plain recvfrom calls: batching them with recvmmsg (as the
// listener does) was measured slower, since a relay socket rarely has more
// than one datagram queued (bench/relay/README.md).
type relayConn struct {
	net.PacketConn
	p       *Plane
	release func()
	addr    netip.AddrPort // the advertised relayed address, the fast path's key
	ft      *fiveTuple     // the UDP client's allocation, guarded by fastPath.mu
	closed  atomic.Bool
}

// Wrap turns conn, a relay socket bound for one allocation and advertised
// as relayed, into the PacketConn the control plane relays through, known
// to the fast path. Closing it calls release once.
func (p *Plane) Wrap(conn net.PacketConn, relayed netip.AddrPort, release func()) net.PacketConn {
	rc := &relayConn{PacketConn: conn, p: p, release: release, addr: unmapped(relayed)}
	p.register(rc)
	return rc
}

// WriteTo sends a client's datagram to a peer. Refused or over-budget
// datagrams are dropped silently: TURN has no per-packet error.
func (c *relayConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, fmt.Errorf("dataplane: relay to %T", addr)
	}
	ip, _ := netip.AddrFromSlice(ua.IP)
	if !c.p.filter.Allowed(ip) {
		c.p.ctr.droppedPeer.Add(1)
		return len(b), nil
	}
	if !c.p.allow(len(b)) {
		c.p.ctr.droppedBandwidth.Add(1)
		return len(b), nil
	}
	n, err := c.PacketConn.WriteTo(b, addr)
	if err == nil {
		c.p.ctr.bytesToPeer.Add(uint64(n)) //nolint:gosec // G115: a write's count is never negative
		c.p.ctr.packetsToPeer.Add(1)
	}
	return n, err
}

// ReadFrom receives a peer's datagram for the client, dropping what is over
// the bandwidth budget.
func (c *relayConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil {
			return n, addr, err
		}
		if !c.p.allow(n) {
			c.p.ctr.droppedBandwidth.Add(1)
			continue
		}
		c.p.ctr.bytesFromPeer.Add(uint64(n)) //nolint:gosec // G115: a read's count is never negative
		c.p.ctr.packetsFromPeer.Add(1)
		return n, addr, nil
	}
}

// Close forgets the socket's routes, releases its reservation once and
// closes it.
func (c *relayConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.p.unregister(c)
		if c.release != nil {
			c.release()
		}
	}
	return c.PacketConn.Close()
}

// BindRelay binds a UDP socket on ip for an allocation: at requested when
// it is not 0 and lies in first..last, else at a random port of the range
// (a bounded number of tries, then a scan from a random start). It returns
// the socket and its port, or ErrNoPort.
func BindRelay(network string, ip netip.Addr, first, last uint16, requested int) (net.PacketConn, int, error) {
	try := func(port int) (net.PacketConn, error) {
		return net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port)))) //nolint:gosec // G115: every port tried lies in first..last
	}
	if requested != 0 {
		if requested < int(first) || requested > int(last) {
			return nil, 0, ErrNoPort
		}
		c, err := try(requested)
		if err != nil {
			return nil, 0, ErrNoPort
		}
		return c, requested, nil
	}
	size := int(last) - int(first) + 1
	if size < 1 {
		return nil, 0, ErrNoPort
	}
	for i := range min(size, 32) {
		port := int(first) + rand.IntN(size) //nolint:gosec // G404: spreads allocations over the range; math/rand/v2's generator is seeded from the OS
		if i == 0 && size == 1 {
			port = int(first)
		}
		if c, err := try(port); err == nil {
			return c, port, nil
		}
	}
	start := rand.IntN(size) //nolint:gosec // G404: where the scan starts, as above
	for i := range min(size, 4096) {
		port := int(first) + (start+i)%size
		if c, err := try(port); err == nil {
			return c, port, nil
		}
	}
	return nil, 0, ErrNoPort
}
