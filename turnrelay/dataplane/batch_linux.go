package dataplane

import (
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// batchReader is a UDP listener socket whose ReadFrom is served from
// batches read with recvmmsg. ChannelData on a channel the fast path knows
// is relayed from here without reaching pion (see fastPath); everything
// else is returned to pion's read loop. Writes go straight to the socket.
// ReadFrom must be called from one goroutine at a time, which pion's read
// loop does.
//
// It calls recvmmsg itself through the socket's RawConn, as the event
// loops do, rather than through x/net's ReadBatch: the source addresses
// stay netip values (no allocation per datagram for the fast path), and a
// batch shorter than the buffer says the socket was empty, so the reader
// parks on Go's poller without the recvmmsg that would only answer EAGAIN.
// At low load, one datagram per wake-up, that is one system call in three.
type batchReader struct {
	*net.UDPConn
	raw   syscall.RawConn
	fast  *fastPath // nil: everything goes to pion
	local netip.AddrPort

	buf   []byte // udpBatch slots of udpMaxDatagram bytes
	names []unix.RawSockaddrInet6
	iovs  []unix.Iovec
	msgs  []mmsghdr
	next  int // msgs[next:n] are read but not yet handled
	n     int
	empty bool // the last recvmmsg found the socket empty
}

func newBatchReader(c *net.UDPConn, fast *fastPath) *batchReader {
	raw, _ := c.SyscallConn() // fails only on a nil or closed conn; ReadFrom then fails
	b := &batchReader{
		UDPConn: c, raw: raw, fast: fast,
		local: unmapped(c.LocalAddr().(*net.UDPAddr).AddrPort()),
		buf:   make([]byte, udpBatch*udpMaxDatagram),
		names: make([]unix.RawSockaddrInet6, udpBatch),
		iovs:  make([]unix.Iovec, udpBatch),
		msgs:  make([]mmsghdr, udpBatch),
	}
	for i := range b.msgs {
		b.iovs[i].Base = &b.buf[i*udpMaxDatagram]
		b.iovs[i].SetLen(udpMaxDatagram)
		b.msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&b.names[i])) //nolint:gosec // G103: the kernel reads the message headers during the system call
		b.msgs[i].hdr.Iov = &b.iovs[i]
		b.msgs[i].hdr.SetIovlen(1)
	}
	return b
}

// ReadFrom returns the next datagram for pion, reading new batches while
// the fast path takes all there is.
func (b *batchReader) ReadFrom(p []byte) (int, net.Addr, error) {
	if n, addr, ok := b.serve(p); ok {
		return n, addr, nil
	}
	if b.raw == nil {
		return 0, nil, net.ErrClosed
	}
	var (
		n    int
		addr net.Addr
		rerr error
	)
	// Go's poller forgets readiness seen before Read starts, so only a
	// short batch read within this call may skip the next recvmmsg: a
	// datagram that came after it has made the socket readable for the
	// poller since, and Read calls back at once.
	b.empty = false
	err := b.raw.Read(func(fd uintptr) bool {
		for {
			if b.empty {
				b.empty = false
				return false // park until the poller reports more
			}
			got, err := b.read(int(fd)) //nolint:gosec // G115: a descriptor
			if err != nil {
				rerr = err
				return true
			}
			if got == 0 {
				return false
			}
			b.empty = got < len(b.msgs)
			var ok bool
			if n, addr, ok = b.serve(p); ok {
				return true
			}
		}
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return 0, nil, err
	}
	return n, addr, nil
}

// read reads a batch into the slots, replacing the last one.
func (b *batchReader) read(fd int) (int, error) {
	for i := range b.msgs {
		b.msgs[i].hdr.Namelen = unix.SizeofSockaddrInet6
		b.msgs[i].hdr.Flags = 0
	}
	got, err := recvmmsg(fd, b.msgs)
	b.next, b.n = 0, got
	return got, err
}

// serve relays the datagrams left in the batch that the fast path takes
// and returns the first one it does not, copied into p, for pion.
func (b *batchReader) serve(p []byte) (int, net.Addr, bool) {
	for b.next < b.n {
		i := b.next
		b.next++
		size := int(b.msgs[i].n)
		data := b.buf[i*udpMaxDatagram : i*udpMaxDatagram+size]
		src, ok := getSockaddr(&b.names[i])
		if !ok {
			continue
		}
		// A datagram that filled the whole buffer may have been cut: pion
		// drops those, so the fast path leaves them to it.
		if b.fast != nil && size < udpMaxDatagram && b.fast.relay(b.local, src, data) {
			continue
		}
		// Like a plain read, a datagram longer than p is cut to len(p) (and
		// one longer than udpMaxDatagram arrives cut to it): pion drops
		// datagrams that fill its whole buffer.
		return copy(p, data), net.UDPAddrFromAddrPort(src), true
	}
	return 0, nil, false
}
