package dataplane

import (
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The peers' side of the data plane: a few event loops (one per CPU the Go
// scheduler uses, as for the listener sockets), each an epoll instance
// over its share of the relay sockets. A round reads every ready socket
// with recvmmsg (at most perSocket datagrams each, so a flooded socket
// cannot starve the others: epoll is level-triggered and reports it again
// next round), frames each datagram for its client in place (ChannelData
// or Data indication, frame.go) and sends the lot with sendmmsg from a
// listener socket of the client's 5-tuple. Nothing waits for room: a full
// send buffer drops the rest of the batch, and what the loop cannot read
// in time the relay socket's small receive buffer drops, so an overloaded
// relay loses datagrams instead of delaying them all.
//
// The epoll descriptor itself is registered with Go's poller, so a loop
// with nothing to do parks its goroutine like any network read instead of
// holding a thread in epoll_wait.
const (
	loopBatch = 64 // datagrams a loop reads before it sends, at most
	perSocket = 16 // datagrams read from one ready socket per round, at most
)

// loop is one event loop; its fields after mu's are its goroutine's own.
type loop struct {
	p    *Plane
	idx  int
	epfd int
	file *os.File

	mu     sync.Mutex // guards below
	socks  map[uint64]*socket
	nextID uint64
	closed bool

	events []unix.EpollEvent
	ready  []*socket
	buf    []byte                  // loopBatch slots of slotSize bytes
	names  []unix.RawSockaddrInet6 // the peers' addresses, by slot
	iovs   []unix.Iovec            // by slot
	rmsgs  []mmsghdr               // by slot
	used   int                     // slots read into since the last send
	out    []mmsghdr               // datagrams framed for clients
	oiovs  []unix.Iovec
	onames []unix.RawSockaddrInet6
	nout   int
	outTo  *sender // where out goes
	sendFn func(fd uintptr) bool
	sent   int // sendFn's results
	lost   int
	more   bool // a socket of this round may hold more datagrams
	rng    *rand.ChaCha8
	txid   [12]byte
}

// startLoops starts the event loops, or says once why there are none (the
// relay sockets then are plain ones pion reads).
func (p *Plane) startLoops() {
	var seed [32]byte
	_, _ = crand.Read(seed[:]) // never fails (crypto/rand)
	for i := range SocketCount() {
		l, err := newLoop(p, i, seed)
		if err != nil {
			for _, l := range p.loops {
				_ = l.file.Close()
			}
			p.loops = nil
			p.notice("dataplane: no event loop (" + err.Error() + "); relay sockets are read by pion, one goroutine each")
			return
		}
		seed[0]++
		p.loops = append(p.loops, l)
	}
	for _, l := range p.loops {
		go l.run()
	}
}

func newLoop(p *Plane, idx int, seed [32]byte) (*loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		_ = unix.Close(epfd)
		return nil, err
	}
	f := os.NewFile(uintptr(epfd), "epoll") //nolint:gosec // G115: a descriptor is never negative
	if err := f.SetReadDeadline(time.Time{}); errors.Is(err, os.ErrNoDeadline) {
		_ = f.Close()
		return nil, errors.New("epoll is not pollable")
	}
	l := &loop{
		p: p, idx: idx, epfd: epfd, file: f, socks: map[uint64]*socket{},
		events: make([]unix.EpollEvent, 128),
		buf:    make([]byte, loopBatch*slotSize),
		names:  make([]unix.RawSockaddrInet6, loopBatch),
		iovs:   make([]unix.Iovec, loopBatch),
		rmsgs:  make([]mmsghdr, loopBatch),
		out:    make([]mmsghdr, loopBatch),
		oiovs:  make([]unix.Iovec, loopBatch),
		onames: make([]unix.RawSockaddrInet6, loopBatch),
		rng:    rand.NewChaCha8(seed),
	}
	for i := range loopBatch {
		l.iovs[i].Base = &l.buf[i*slotSize+headroom]
		l.iovs[i].SetLen(udpMaxDatagram)
		l.out[i].hdr.Iov = &l.oiovs[i]
		l.out[i].hdr.SetIovlen(1)
		l.out[i].hdr.Name = (*byte)(unsafe.Pointer(&l.onames[i])) //nolint:gosec // G103: the kernel reads the message headers during the system call
	}
	l.sendFn = l.send
	return l, nil
}

// attach registers s with a loop, round robin; false when there is none.
func (p *Plane) attach(s *socket) bool {
	p.loopsOnce.Do(p.startLoops)
	if len(p.loops) == 0 {
		return false
	}
	return p.loops[int(p.nextLoop.Add(1)%uint32(len(p.loops)))].add(s) //nolint:gosec // G115: few loops
}

func (l *loop) add(s *socket) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || s.closed {
		return false
	}
	l.nextID++
	id := l.nextID
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(uint32(id)), Pad: int32(uint32(id >> 32))} //nolint:gosec // G115: the id's two halves
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, s.fd, &ev); err != nil {
		return false
	}
	l.socks[id], s.loop, s.id = s, l, id
	return true
}

// detach forgets s, under s.mu, before it is closed.
func (l *loop) detach(s *socket) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.socks, s.id)
	if !l.closed {
		_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, s.fd, nil)
	}
}

// stopLoops ends the loops; relay sockets still open are no longer read.
func (p *Plane) stopLoops() {
	p.loopsOnce.Do(func() {}) // none start after this
	for _, l := range p.loops {
		l.mu.Lock()
		if !l.closed {
			l.closed = true
			_ = l.file.Close()
		}
		l.mu.Unlock()
	}
}

func (l *loop) run() {
	raw, err := l.file.SyscallConn()
	if err != nil {
		return
	}
	// Read calls the function again whenever the epoll descriptor turns
	// readable, and returns once it is closed.
	_ = raw.Read(func(fd uintptr) bool {
		for {
			n, err := epollWait(int(fd), l.events) //nolint:gosec // G115: a descriptor
			if err != nil {
				return true
			}
			if n == 0 {
				return false // park until there is work
			}
			l.more = false
			l.round(n)
			// Every ready socket was drained and epoll had no more to
			// report: park without asking it again. A datagram that came
			// meanwhile has already made the descriptor readable for Go's
			// poller, so Read calls back at once.
			if n < len(l.events) && !l.more {
				return false
			}
		}
	})
}

// round reads the n ready sockets of l.events and sends what they hold
// for clients.
func (l *loop) round(n int) {
	l.ready = l.ready[:0]
	l.mu.Lock()
	for _, ev := range l.events[:n] {
		if s := l.socks[uint64(uint32(ev.Fd))|uint64(uint32(ev.Pad))<<32]; s != nil { //nolint:gosec // G115: the id's two halves
			l.ready = append(l.ready, s)
		}
	}
	l.mu.Unlock()
	for _, s := range l.ready {
		l.drain(s)
	}
	l.flush()
	l.used = 0
	clear(l.ready) // no pointers kept to closed sockets
}

// drain reads up to perSocket datagrams from s and relays them.
func (l *loop) drain(s *socket) {
	if l.used+perSocket > loopBatch {
		l.flush()
		l.used = 0
	}
	msgs := l.rmsgs[l.used : l.used+perSocket]
	for i := range msgs {
		slot := l.used + i
		msgs[i] = mmsghdr{}
		msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&l.names[slot])) //nolint:gosec // G103: the kernel reads the message headers during the system call
		msgs[i].hdr.Namelen = unix.SizeofSockaddrInet6
		msgs[i].hdr.Iov = &l.iovs[slot]
		msgs[i].hdr.SetIovlen(1)
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return
	}
	got, err := recvmmsg(s.fd, msgs)
	s.mu.RUnlock()
	if err != nil || got == 0 {
		return
	}
	if got == len(msgs) {
		l.more = true // it may hold more: epoll reports it again
	}
	l.relay(s.rc, l.used, got)
	l.used += got
}

// relay counts and frames the got datagrams read into slots from first
// on, and queues them for their client (or hands them to pion, for a TCP
// client's allocation).
func (l *loop) relay(rc *relayConn, first, got int) {
	p := l.p
	var readBytes, bytes, packets, overBudget uint64
	p.mu.RLock()
	fa := rc.fa
	for slot := first; slot < first+got; slot++ {
		m := &l.rmsgs[slot]
		n := int(m.n)
		readBytes += uint64(n) //nolint:gosec // G115: a datagram length or a port byte, never out of range
		if m.hdr.Flags&unix.MSG_TRUNC != 0 {
			continue // longer than pion's inbound MTU: pion's read would have cut it
		}
		if !p.allow(n) {
			overBudget++
			continue
		}
		bytes += uint64(n) //nolint:gosec // G115: a datagram length or a port byte, never out of range
		packets++
		src, ok := getSockaddr(&l.names[slot])
		if !ok {
			continue
		}
		buf := l.buf[slot*slotSize : (slot+1)*slotSize]
		if fa == nil {
			rc.toPion(buf[headroom:headroom+n], src)
			continue
		}
		number, bound, permitted := fa.routeLocked(src)
		if !permitted {
			continue // pion logs these; nothing here
		}
		var msg []byte
		if bound {
			msg = frameChannelData(buf, n, number)
		} else {
			binary.LittleEndian.PutUint64(l.txid[0:], l.rng.Uint64())
			binary.LittleEndian.PutUint32(l.txid[8:], uint32(l.rng.Uint64())) //nolint:gosec // G115: 32 random bits
			msg = frameDataIndication(buf, n, src, &l.txid)
		}
		l.queue(msg, fa.client, fa.out[l.idx%len(fa.out)])
	}
	p.mu.RUnlock()
	rc.countRead(readBytes)
	c := &p.ctr
	c.bytesFromPeer.Add(bytes)
	c.packetsFromPeer.Add(packets)
	if overBudget > 0 {
		c.droppedBandwidth.Add(overBudget)
	}
}

// queue adds msg for client, to be sent from snd.
func (l *loop) queue(msg []byte, client netip.AddrPort, snd *sender) {
	if l.outTo != snd || l.nout == len(l.out) {
		l.flush()
		l.outTo = snd
	}
	i := l.nout
	l.oiovs[i].Base = &msg[0]
	l.oiovs[i].SetLen(len(msg))
	l.out[i].hdr.Namelen = putSockaddr(&l.onames[i], client, snd.v6)
	l.out[i].n = 0
	l.nout++
}

// flush sends what is queued, dropping what the listener socket has no
// room for.
func (l *loop) flush() {
	if l.nout == 0 {
		return
	}
	l.sent, l.lost = 0, l.nout
	_ = l.outTo.raw.Write(l.sendFn) // an error: the listener is closed, all lost
	if l.lost > 0 {
		l.p.ctr.droppedOverload.Add(uint64(l.lost)) //nolint:gosec // G115: a count
	}
	l.nout, l.outTo = 0, nil
}

// epollWait returns the ready events without waiting (epoll_pwait, which
// every architecture has; it never blocks, so it needs no scheduler hand-off).
func epollWait(epfd int, events []unix.EpollEvent) (int, error) {
	for {
		n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0) //nolint:gosec // G115: a descriptor
		switch errno {
		case 0:
			return int(n), nil
		case unix.EINTR:
			continue
		default:
			return 0, errno
		}
	}
}

func (l *loop) send(fd uintptr) bool {
	l.sent, l.lost = sendmmsg(int(fd), l.out[:l.nout]) //nolint:gosec // G115: a descriptor
	return true
}

var _ syscall.RawConn // listener sockets are written through theirs
