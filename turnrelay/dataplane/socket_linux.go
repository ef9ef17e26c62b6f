package dataplane

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// relaySocketBuffer is a relay socket's receive buffer: a few dozen small
// datagrams. The event loop drains every ready socket each round, so a
// deeper queue would only add delay when the relay cannot keep up; past it
// the kernel drops, which is what an overloaded relay should do.
const relaySocketBuffer = 64 << 10

// socket is a relay socket the data plane owns: a non-blocking UDP socket
// kept out of Go's poller (which would wake for every datagram nobody
// waits for), read by an event loop (loop_linux.go) and written with plain
// sendto calls. mu is read-held while the descriptor is in use and
// write-held to close it, so a descriptor number is never used after it
// was closed and possibly reused.
type socket struct {
	mu     sync.RWMutex
	fd     int
	closed bool
	local  *net.UDPAddr
	ctr    *counters  // the plane's; nil until wrapped
	rc     *relayConn // the allocation it serves; set by Wrap
	loop   *loop      // the event loop reading it; nil until attached
	id     uint64     // its key in loop.socks
}

// bindSocket binds a relay socket on ap ("udp4" or "udp6", the latter
// IPv6 only, as net.ListenUDP does).
func bindSocket(network string, ap netip.AddrPort) (*socket, error) {
	family, sa := unix.AF_INET, unix.Sockaddr(nil)
	switch network {
	case "udp4":
		if !ap.Addr().Unmap().Is4() {
			return nil, errors.New("dataplane: udp4 relay on an IPv6 address")
		}
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().Unmap().As4()}
	case "udp6":
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	default:
		return nil, errors.New("dataplane: relay network " + network)
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, err
	}
	if family == unix.AF_INET6 {
		err = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1)
	}
	if err == nil {
		err = unix.Bind(fd, sa)
	}
	if err != nil {
		_ = unix.Close(fd)
		return nil, err
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, relaySocketBuffer) // best effort
	return &socket{fd: fd, local: net.UDPAddrFromAddrPort(ap)}, nil
}

// WriteTo sends a client's datagram to a peer. A full send buffer drops
// the datagram (reported as written: TURN has no per-packet error) rather
// than waiting for room.
func (s *socket) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, errors.New("dataplane: relay to a non-UDP address")
	}
	var rsa unix.RawSockaddrInet6
	salen := putSockaddr(&rsa, unmapped(ua.AddrPort()), s.local.IP.To4() == nil)
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0]) //nolint:gosec // G103: the kernel reads the message headers during the system call
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, net.ErrClosed
	}
	// Non-blocking, so no scheduler hand-off (as for recvmmsg, sendmmsg).
	_, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(s.fd), uintptr(p), uintptr(len(b)), unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&rsa)), uintptr(salen)) //nolint:gosec // G103: the kernel reads the buffers during the system call
	switch errno {
	case 0:
		return len(b), nil
	case unix.EAGAIN, unix.ENOBUFS:
		if s.ctr != nil {
			s.ctr.droppedOverload.Add(1)
		}
		return len(b), nil
	default:
		return 0, errno
	}
}

// ReadFrom is not for use: the event loop reads the socket.
func (s *socket) ReadFrom([]byte) (int, net.Addr, error) {
	return 0, nil, errors.New("dataplane: a relay socket is read by the data plane")
}

// Close detaches the socket from its event loop and closes it, once.
func (s *socket) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return net.ErrClosed
	}
	s.closed = true
	if s.loop != nil {
		s.loop.detach(s)
	}
	return unix.Close(s.fd)
}

func (s *socket) LocalAddr() net.Addr { return s.local }

// Deadlines do not apply: writes never wait, reads are the loop's.
func (s *socket) SetDeadline(time.Time) error      { return nil }
func (s *socket) SetReadDeadline(time.Time) error  { return nil }
func (s *socket) SetWriteDeadline(time.Time) error { return nil }

// mmsghdr is struct mmsghdr of recvmmsg(2) and sendmmsg(2).
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// recvmmsg reads up to len(msgs) datagrams without waiting; 0 when none
// is queued.
func recvmmsg(fd int, msgs []mmsghdr) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), unix.MSG_DONTWAIT, 0, 0) //nolint:gosec // G103: the kernel reads the buffers during the system call
	if errno == unix.EAGAIN || errno == unix.EINTR {
		return 0, nil
	}
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// sendmmsg sends msgs from fd, dropping what the socket has no room for;
// it returns how many were sent and dropped.
func sendmmsg(fd int, msgs []mmsghdr) (sent, dropped int) {
	for len(msgs) > 0 {
		n, _, errno := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), unix.MSG_DONTWAIT, 0, 0) //nolint:gosec // G103: the kernel reads the buffers during the system call
		switch {
		case errno == unix.EINTR:
			continue
		case errno == unix.EAGAIN || errno == unix.ENOBUFS:
			return sent, dropped + len(msgs) // no queue beyond the socket's
		case errno != 0:
			msgs = msgs[1:] // the first one failed; the others may not
			dropped++
		default:
			sent += int(n)
			msgs = msgs[n:]
		}
	}
	return sent, dropped
}

// putSockaddr writes ap into rsa for a socket of the family v6 says and
// returns its length.
func putSockaddr(rsa *unix.RawSockaddrInet6, ap netip.AddrPort, v6 bool) uint32 {
	port := ap.Port()
	pb := (*[2]byte)(unsafe.Pointer(&rsa.Port)) //nolint:gosec // G103: the port in network byte order, at the same offset in Inet4 and Inet6
	pb[0], pb[1] = byte(port>>8), byte(port)    //nolint:gosec // G115: a datagram length or a port byte, never out of range
	if v6 {
		rsa.Family = unix.AF_INET6
		rsa.Flowinfo = 0
		rsa.Addr = ap.Addr().As16()
		rsa.Scope_id = 0
		return unix.SizeofSockaddrInet6
	}
	r4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa)) //nolint:gosec // G103: RawSockaddrInet4 and Inet6 share the family and port layout
	r4.Family = unix.AF_INET
	r4.Addr = ap.Addr().Unmap().As4()
	return unix.SizeofSockaddrInet4
}

// getSockaddr reads the address recvmmsg wrote into rsa.
func getSockaddr(rsa *unix.RawSockaddrInet6) (netip.AddrPort, bool) {
	pb := (*[2]byte)(unsafe.Pointer(&rsa.Port)) //nolint:gosec // G103: RawSockaddrInet4 and Inet6 share the family and port layout
	port := uint16(pb[0])<<8 | uint16(pb[1])
	switch rsa.Family {
	case unix.AF_INET:
		r4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa)) //nolint:gosec // G103: RawSockaddrInet4 and Inet6 share the family and port layout
		return netip.AddrPortFrom(netip.AddrFrom4(r4.Addr), port), true
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(rsa.Addr).Unmap(), port), true
	}
	return netip.AddrPort{}, false
}

var _ syscall.Conn = (*net.UDPConn)(nil) // listener sockets are written through their RawConn
