package pionclient

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/pion/transport/v5"
)

// sealedNet is the network a hardened ICE agent sees: the host's, except
// that it lists no interfaces (so no host or server-reflexive candidate
// has an address to be made of), listens on nothing but wildcard packet
// sockets (TURN over UDP binds 0.0.0.0:0 or [::]:0), and every socket it
// opens reports the unspecified address of its family, port 0, as its
// local address. pion copies that local address into a relay candidate's
// related address (gatherCandidatesRelay in pion/ice v4), so the candidate
// carries none of the caller's.
type sealedNet struct {
	transport.Net
}

// Interfaces lists none: a relay-only agent needs no local address.
func (sealedNet) Interfaces() ([]*transport.Interface, error) { return nil, nil }

// InterfaceByIndex finds none.
func (sealedNet) InterfaceByIndex(int) (*transport.Interface, error) {
	return nil, fmt.Errorf("interface by index: %w", ErrRefusedSocket)
}

// InterfaceByName finds none.
func (sealedNet) InterfaceByName(string) (*transport.Interface, error) {
	return nil, fmt.Errorf("interface by name: %w", ErrRefusedSocket)
}

// ListenPacket opens a wildcard packet socket (a TURN/UDP client's) and
// refuses one bound to a specific address.
func (n sealedNet) ListenPacket(network, address string) (net.PacketConn, error) {
	if !wildcard(address) {
		return nil, fmt.Errorf("listen %s on a specific address: %w", network, ErrRefusedSocket)
	}
	c, err := n.Net.ListenPacket(network, address)
	if err != nil {
		return nil, err
	}
	return blankPacketConn{c}, nil
}

// ListenUDP refuses: pion uses it for host and server-reflexive
// candidates only.
func (sealedNet) ListenUDP(network string, _ *net.UDPAddr) (transport.UDPConn, error) {
	return nil, fmt.Errorf("listen %s: %w", network, ErrRefusedSocket)
}

// ListenTCP refuses: pion uses it for passive TCP host candidates only.
func (sealedNet) ListenTCP(network string, _ *net.TCPAddr) (transport.TCPListener, error) {
	return nil, fmt.Errorf("listen %s: %w", network, ErrRefusedSocket)
}

// Dial dials and blanks the connection's local address.
func (n sealedNet) Dial(network, address string) (net.Conn, error) {
	c, err := n.Net.Dial(network, address)
	if err != nil {
		return nil, err
	}
	return blankConn{c}, nil
}

// DialUDP dials (TURN over DTLS) and blanks the local address.
func (n sealedNet) DialUDP(network string, laddr, raddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.DialUDP(network, laddr, raddr)
	if err != nil {
		return nil, err
	}
	return blankUDPConn{c}, nil
}

// DialTCP dials (TURN over TCP and TLS) and blanks the local address.
func (n sealedNet) DialTCP(network string, laddr, raddr *net.TCPAddr) (transport.TCPConn, error) {
	c, err := n.Net.DialTCP(network, laddr, raddr)
	if err != nil {
		return nil, err
	}
	return blankTCPConn{c}, nil
}

// CreateDialer wraps the host's dialer so its connections are blanked too.
func (n sealedNet) CreateDialer(d *net.Dialer) transport.Dialer {
	return blankDialer{n.Net.CreateDialer(d)}
}

type blankDialer struct{ transport.Dialer }

func (d blankDialer) Dial(network, address string) (net.Conn, error) {
	c, err := d.Dialer.Dial(network, address)
	if err != nil {
		return nil, err
	}
	return blankConn{c}, nil
}

// wildcard reports whether address ("host:port") has an unspecified or
// empty host.
func wildcard(address string) bool {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return false
	}
	if host == "" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsUnspecified()
}

// BlankRelatedPort is the port every socket under Harden reports as its
// local one, so relay candidates carry "raddr 0.0.0.0 rport 9" (or "::").
// Not 0: pion leaves raddr and rport out of a candidate whose related port
// is 0, and Firefox's ICE stack (nICEr) refuses a relay candidate without
// them, or with rport 0. 9 is the discard port: it names no socket of
// this host, the same on every client.
const BlankRelatedPort = 9

// unspecifiedLike is the unspecified address of a's family, port
// BlankRelatedPort, of the same Go type (pion type-asserts *net.UDPAddr and
// *net.TCPAddr).
func unspecifiedLike(a net.Addr) net.Addr {
	ip := net.IPv6unspecified
	switch a := a.(type) {
	case *net.UDPAddr:
		if a.IP.To4() != nil {
			ip = net.IPv4zero.To4()
		}
		return &net.UDPAddr{IP: ip, Port: BlankRelatedPort}
	case *net.TCPAddr:
		if a.IP.To4() != nil {
			ip = net.IPv4zero.To4()
		}
		return &net.TCPAddr{IP: ip, Port: BlankRelatedPort}
	case *net.IPAddr:
		if a.IP.To4() != nil {
			ip = net.IPv4zero.To4()
		}
		return &net.IPAddr{IP: ip}
	default:
		return &net.UDPAddr{IP: ip, Port: BlankRelatedPort}
	}
}

type blankPacketConn struct{ net.PacketConn }

func (c blankPacketConn) LocalAddr() net.Addr { return unspecifiedLike(c.PacketConn.LocalAddr()) }

type blankConn struct{ net.Conn }

func (c blankConn) LocalAddr() net.Addr { return unspecifiedLike(c.Conn.LocalAddr()) }

type blankUDPConn struct{ transport.UDPConn }

func (c blankUDPConn) LocalAddr() net.Addr { return unspecifiedLike(c.UDPConn.LocalAddr()) }

type blankTCPConn struct{ transport.TCPConn }

func (c blankTCPConn) LocalAddr() net.Addr { return unspecifiedLike(c.TCPConn.LocalAddr()) }
