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
// A relay socket of BindRelay's is read by an event loop (loop_linux.go),
// not by pion: pion's read loop waits in ReadFrom, which only ever returns
// the datagrams of an allocation the data plane does not relay itself (a
// TCP or TLS client's), and net.ErrClosed once the socket is closed. Any
// other PacketConn (a system without the event loops) is read by pion,
// through ReadFrom, as before.
type relayConn struct {
	net.PacketConn
	p        *Plane
	release  func()
	addr     netip.AddrPort // the advertised relayed address, the fast path's key
	ft       *fiveTuple     // the UDP client's allocation, guarded by fastPath.mu
	fa       *fastAlloc     // the same, when the data plane relays it; guarded by fastPath.mu
	closed   atomic.Bool
	sock     *socket           // innermost socket when the event loop reads it, else nil
	counters []readCounter     // wrappers of conn that count what is read
	pion     chan pionDatagram // datagrams the event loop leaves to pion
	done     chan struct{}     // closed by Close
}

// readCounter is a relay socket wrapper that counts the bytes read through
// it (package usage's); the event loop tells it what it read instead.
type readCounter interface{ CountRead(n uint64) }

// unwrapper is a relay socket wrapper that gives the socket it wraps.
type unwrapper interface{ Unwrap() net.PacketConn }

type pionDatagram struct {
	b    []byte
	addr *net.UDPAddr
}

// pionQueue bounds the datagrams waiting for pion's read loop, per
// allocation: beyond it they are dropped, not queued.
const pionQueue = 64

// Wrap turns conn, a relay socket bound for one allocation and advertised
// as relayed, into the PacketConn the control plane relays through, known
// to the fast path. Closing it calls release once. conn may be a wrapper
// (see readCounter, unwrapper) of a socket of BindRelay's.
func (p *Plane) Wrap(conn net.PacketConn, relayed netip.AddrPort, release func()) net.PacketConn {
	rc := &relayConn{PacketConn: conn, p: p, release: release, addr: unmapped(relayed)}
	for pc := conn; pc != nil; {
		if c, ok := pc.(readCounter); ok {
			rc.counters = append(rc.counters, c)
		}
		if s, ok := pc.(*socket); ok {
			rc.sock = s
			break
		}
		u, ok := pc.(unwrapper)
		if !ok {
			break
		}
		pc = u.Unwrap()
	}
	p.register(rc)
	if rc.sock != nil {
		rc.pion, rc.done = make(chan pionDatagram, pionQueue), make(chan struct{})
		rc.sock.rc, rc.sock.ctr = rc, &p.ctr
		if !p.attach(rc.sock) { // the loops are gone (shutting down): nothing relays
			rc.sock = nil
		}
	}
	return rc
}

// countRead tells the wrappers that n bytes were read.
func (c *relayConn) countRead(n uint64) {
	if n == 0 {
		return
	}
	for _, rcn := range c.counters {
		rcn.CountRead(n)
	}
}

// toPion queues a datagram from peer for pion's read loop (copied: b is
// the event loop's buffer), or drops it when pion is behind.
func (c *relayConn) toPion(b []byte, peer netip.AddrPort) {
	select {
	case c.pion <- pionDatagram{b: append([]byte(nil), b...), addr: net.UDPAddrFromAddrPort(peer)}:
	default:
		c.p.ctr.droppedOverload.Add(1)
	}
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
// the bandwidth budget: the event loop's datagrams for pion (already
// counted), or the socket's own when pion reads it.
func (c *relayConn) ReadFrom(b []byte) (int, net.Addr, error) {
	if c.sock != nil {
		select {
		case d := <-c.pion:
			return copy(b, d.b), d.addr, nil
		case <-c.done:
			return 0, nil, net.ErrClosed
		}
	}
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
		if c.done != nil {
			close(c.done)
		}
	}
	return c.PacketConn.Close()
}

// BindRelay binds a UDP socket on ip for an allocation: at requested when
// it is not 0 and lies in first..last, else at a random port of the range
// (a bounded number of tries, then a scan from a random start). It returns
// the socket and its port, or ErrNoPort. Wrapped (Wrap), the socket is
// read by the data plane's event loops where the system has them, else by
// pion.
func (p *Plane) BindRelay(network string, ip netip.Addr, first, last uint16, requested int) (net.PacketConn, int, error) {
	p.loopsOnce.Do(p.startLoops)
	try := func(port int) (net.PacketConn, error) {
		ap := netip.AddrPortFrom(ip, uint16(port)) //nolint:gosec // G115: every port tried lies in first..last
		if len(p.loops) > 0 {
			return bindSocket(network, ap)
		}
		return net.ListenUDP(network, net.UDPAddrFromAddrPort(ap))
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
