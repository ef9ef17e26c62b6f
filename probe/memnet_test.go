package probe

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"
)

// memNet is an in-memory UDP network for tests inside a synctest bubble,
// where real sockets cannot be used. Datagrams to an address nobody listens
// on, or to a full queue, are dropped, as UDP would.
type memNet struct {
	mu sync.Mutex
	// guards below
	conns map[netip.AddrPort]*memConn
	port  uint16
}

func newMemNet() *memNet { return &memNet{conns: map[netip.AddrPort]*memConn{}, port: 10000} }

// listen opens a conn on a fresh loopback port; it has Config.Listen's shape.
func (n *memNet) listen(network string) (net.PacketConn, error) {
	ip := netip.MustParseAddr("127.0.0.1")
	if network == "udp6" {
		ip = netip.IPv6Loopback()
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.port++
	c := &memConn{net: n, addr: netip.AddrPortFrom(ip, n.port), in: make(chan memPacket, 4096), closed: make(chan struct{})}
	n.conns[c.addr] = c
	return c, nil
}

type memPacket struct {
	b    []byte
	from netip.AddrPort
}

type memConn struct {
	net    *memNet
	addr   netip.AddrPort
	in     chan memPacket
	closed chan struct{}
	once   sync.Once
}

func (c *memConn) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case pk := <-c.in:
		return copy(b, pk.b), net.UDPAddrFromAddrPort(pk.from), nil
	case <-c.closed:
		return 0, nil, net.ErrClosed
	}
}

func (c *memConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, errors.New("memnet: not a UDP address")
	}
	c.net.mu.Lock()
	dst := c.net.conns[ua.AddrPort()]
	c.net.mu.Unlock()
	if dst != nil {
		select {
		case dst.in <- memPacket{b: append([]byte(nil), b...), from: c.addr}:
		default:
		}
	}
	return len(b), nil
}

func (c *memConn) Close() error {
	c.once.Do(func() {
		close(c.closed)
		c.net.mu.Lock()
		delete(c.net.conns, c.addr)
		c.net.mu.Unlock()
	})
	return nil
}

func (c *memConn) LocalAddr() net.Addr              { return net.UDPAddrFromAddrPort(c.addr) }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }
