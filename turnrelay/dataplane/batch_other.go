//go:build !linux

package dataplane

import (
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

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
		if ap, ok := udpAddrPort(m.Addr); ok && b.fast != nil && m.N < udpMaxDatagram && b.fast.relay(b.local, ap, m.Buffers[0][:m.N]) {
			continue
		}
		// Like a plain read, a datagram longer than p is cut to len(p) (and
		// one longer than udpMaxDatagram arrives cut to it): pion drops
		// datagrams that fill its whole buffer.
		return copy(p, m.Buffers[0][:m.N]), m.Addr, nil
	}
}
