package dataplane

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"runtime"
)

// The UDP listener is where every client's datagrams converge, so it gets
// the relay's throughput work:
//
//   - Several sockets share the port with SO_REUSEPORT (one per CPU, as
//     coturn does). The kernel hashes each client's 5-tuple onto one of
//     them, so a client always reaches the same socket and so the same pion
//     allocation manager, and the sockets are drained by parallel read
//     loops: one stalled reader no longer stalls every client.
//   - The socket buffers are sized to bound the queue, not to avoid every
//     drop: a relay that falls behind should lose datagrams, which voice
//     and video conceal, rather than delay all of them, which they cannot.
//     udpSocketBuffer (the kernel doubles it for its bookkeeping) holds
//     about 600 small datagrams on loopback (some 830 bytes of kernel
//     memory each), fewer through a real NIC: a few milliseconds of work at
//     the tens of thousands of datagrams per second one socket's reader
//     drains, enough for a GC pause or a scheduling hiccup. At twice the
//     load coturn holds on a 2-core box, 4 MiB buffers let 2.5 MB wait in
//     one socket and the echo RTT reach 21 ms; with these it was 3.7 ms
//     (bench/relay/README.md).
//   - Reads are batched with recvmmsg: one system call returns every
//     datagram already queued, up to udpBatch.
const (
	udpSocketBuffer = 256 << 10
	udpBatch        = 32
	udpMaxDatagram  = 1600 // pion's inbound MTU; larger datagrams are dropped by pion
)

// SocketCount is how many sockets share the UDP listener's port: one per
// CPU the Go scheduler uses, at most 8.
func SocketCount() int { return min(max(runtime.GOMAXPROCS(0), 1), 8) }

// Listener is the UDP listener of a relay: sockets sharing one port, each
// read in batches, ChannelData of bound channels relayed by the fast path.
type Listener struct {
	conns   []*net.UDPConn
	readers []net.PacketConn
}

// ListenUDP binds the UDP listener on ap with SocketCount sockets (one
// where SO_REUSEPORT is missing); port 0 picks a free port.
func (p *Plane) ListenUDP(ap netip.AddrPort) (*Listener, error) {
	conns, err := listenUDP(ap, SocketCount())
	if err != nil {
		return nil, err
	}
	l := &Listener{conns: conns}
	for _, c := range conns {
		l.readers = append(l.readers, newBatchReader(c, p.fastPath))
		if err := p.addListener(c); err != nil {
			_ = l.Close()
			return nil, err
		}
	}
	return l, nil
}

// Addr is the address the listener is bound to.
func (l *Listener) Addr() netip.AddrPort { return l.conns[0].LocalAddr().(*net.UDPAddr).AddrPort() }

// PacketConns are the listener's sockets for TURN's read loops, one loop
// per socket: each must be read from one goroutine at a time. Writes go
// straight to the socket.
func (l *Listener) PacketConns() []net.PacketConn { return l.readers }

// Close closes every socket of the listener.
func (l *Listener) Close() error {
	var errs []error
	for _, c := range l.conns {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// listenUDP binds n sockets on ap (n > 1 only where SO_REUSEPORT exists).
// With port 0 the first socket picks the port and the others join it.
func listenUDP(ap netip.AddrPort, n int) ([]*net.UDPConn, error) {
	network := udpNetwork(ap.Addr())
	if !reusePortSupported {
		n = 1
	}
	lc := net.ListenConfig{Control: controlReusePort(n > 1)}
	var conns []*net.UDPConn
	for i := range n {
		pc, err := lc.ListenPacket(context.Background(), network, ap.String())
		if err != nil {
			for _, c := range conns {
				_ = c.Close()
			}
			return nil, err
		}
		c := pc.(*net.UDPConn)
		_ = c.SetReadBuffer(udpSocketBuffer) // best effort: capped by the kernel
		_ = c.SetWriteBuffer(udpSocketBuffer)
		conns = append(conns, c)
		if i == 0 {
			ap = c.LocalAddr().(*net.UDPAddr).AddrPort()
		}
	}
	return conns, nil
}

func udpNetwork(a netip.Addr) string {
	if a.Is4() {
		return "udp4"
	}
	return "udp"
}
