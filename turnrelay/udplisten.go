package turnrelay

import (
	"context"
	"net"
	"net/netip"
	"runtime"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// The UDP listener is where every client's datagrams converge, so it gets
// the relay's throughput work:
//
//   - Several sockets share the port with SO_REUSEPORT (one per CPU, as
//     coturn does). The kernel hashes each client's 5-tuple onto one of
//     them, so a client always reaches the same socket and so the same pion
//     allocation manager, and the sockets are drained by parallel read
//     loops: one stalled reader no longer stalls every client.
//   - Large socket buffers absorb scheduling hiccups on a busy machine
//     instead of dropping datagrams (the kernel caps them at
//     net.core.rmem_max / wmem_max).
//   - Reads are batched with recvmmsg: one system call returns every
//     datagram already queued, up to udpBatch.
const (
	udpSocketBuffer = 4 << 20
	udpBatch        = 32
	udpMaxDatagram  = 1600 // pion's inbound MTU; larger datagrams are dropped by pion
)

// udpSocketCount is how many sockets share the UDP listener's port.
func udpSocketCount() int { return min(max(runtime.GOMAXPROCS(0), 1), 8) }

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

// batchSource reads datagrams in batches: ipv4.PacketConn or
// ipv6.PacketConn over the socket (recvmmsg where the system has it).
type batchSource interface {
	ReadBatch([]ipv4.Message, int) (int, error)
}

func newBatchSource(c *net.UDPConn) batchSource {
	if c.LocalAddr().(*net.UDPAddr).IP.To4() != nil {
		return ipv4.NewPacketConn(c)
	}
	return ipv6.NewPacketConn(c)
}

// newBatchMsgs returns n messages, each with its own size-byte buffer cut
// from one allocation.
func newBatchMsgs(n, size int) []ipv4.Message {
	msgs := make([]ipv4.Message, n)
	buf := make([]byte, n*size)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{buf[i*size : (i+1)*size : (i+1)*size]}
	}
	return msgs
}

// batchReader is a UDP listener socket whose ReadFrom is served from
// batches read with recvmmsg. ChannelData on a channel the fast path knows
// is relayed from here without reaching pion (see fastPath); everything
// else is returned to pion's read loop. Writes go straight to the socket.
// ReadFrom must be called from one goroutine at a time, which pion's read
// loop does.
type batchReader struct {
	*net.UDPConn
	rb    batchSource
	fast  *fastPath // nil: everything goes to pion
	local netip.AddrPort
	msgs  []ipv4.Message
	next  int // msgs[next:n] are read but not yet returned
	n     int
}

func newBatchReader(c *net.UDPConn, fast *fastPath) *batchReader {
	return &batchReader{
		UDPConn: c, rb: newBatchSource(c), fast: fast,
		local: unmapped(c.LocalAddr().(*net.UDPAddr).AddrPort()),
		msgs:  newBatchMsgs(udpBatch, udpMaxDatagram),
	}
}

// ReadFrom returns the next datagram for pion, reading a new batch when the
// last one is used up.
func (b *batchReader) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		for b.next >= b.n {
			n, err := b.rb.ReadBatch(b.msgs, 0)
			if err != nil {
				b.next, b.n = 0, 0
				return 0, nil, err
			}
			b.next, b.n = 0, n
		}
		m := &b.msgs[b.next]
		b.next++
		// A datagram that filled the whole buffer may have been cut: pion
		// drops those, so the fast path leaves them to it.
		if b.fast != nil && m.N < udpMaxDatagram && b.fast.relay(b.local, m.Addr, m.Buffers[0][:m.N]) {
			continue
		}
		// Like a plain read, a datagram longer than p is cut to len(p) (and
		// one longer than udpMaxDatagram arrives cut to it): pion drops
		// datagrams that fill its whole buffer.
		return copy(p, m.Buffers[0][:m.N]), m.Addr, nil
	}
}
