package turnrelay

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/relaygate/relaygate/relay"
)

// Listener is one TURN listener of a Server.
type Listener struct {
	Transport relay.Transport
	Addr      string      // ip:port; port 0 picks a free port (tests)
	TLS       *tls.Config // certificate, required for transports that need one (NeedsCertificate); served with TLS >= 1.2
}

// Addrs are a Server's bound listener addresses, indexed by transport; a
// zero AddrPort is a transport it does not offer.
type Addrs [relay.NumTransports]netip.AddrPort

// Ports are the listening ports by transport, as heartbeats report them.
func (a Addrs) Ports() relay.Ports {
	var p relay.Ports
	for t, ap := range a {
		p[t] = ap.Port()
	}
	return p
}

// listenerKinds says how the server listens for each transport of relay's
// table: a transport added there needs its row here, or Config rejects it.
var listenerKinds = [relay.NumTransports]struct {
	listen func(*Server, Listener) (bound, error)
	tls    bool // needs Listener.TLS
}{
	relay.UDP: {listen: (*Server).listenUDP},
	relay.TCP: {listen: (*Server).listenTCP},
	relay.TLS: {listen: (*Server).listenTLS, tls: true},
}

// NeedsCertificate reports whether a listener for t needs Listener.TLS.
func NeedsCertificate(t relay.Transport) bool { return t.Valid() && listenerKinds[t].tls }

// listenFlag is the relaynode flag (and error prefix) of t's listener.
func listenFlag(t relay.Transport) string { return "listen-" + t.String() }

// listenFlags lists every listener flag, for "at least one of" messages.
func listenFlags() string {
	var names []string
	for _, t := range relay.Transports() {
		names = append(names, listenFlag(t))
	}
	return strings.Join(names, ", ")
}

// bound is a listener once bound: what pion serves and what closing it
// releases.
type bound struct {
	addr    netip.AddrPort
	packets []net.PacketConn // datagram transports: one pion read loop each
	stream  net.Listener     // stream transports: one pion accept loop
	close   func()
}

// listen binds every configured listener, indexed by transport.
func (s *Server) listen() error {
	for _, l := range s.cfg.Listeners {
		b, err := listenerKinds[l.Transport].listen(s, l)
		if err != nil {
			return fmt.Errorf("%s: %w", listenFlag(l.Transport), err)
		}
		s.lns[l.Transport] = b
	}
	return nil
}

// listenUDP binds the data plane's UDP listener.
func (s *Server) listenUDP(l Listener) (bound, error) {
	u, err := s.data.ListenUDP(netip.MustParseAddrPort(l.Addr))
	if err != nil {
		return bound{}, err
	}
	return bound{addr: u.Addr(), packets: u.PacketConns(), close: func() { _ = u.Close() }}, nil
}

// listenTCP binds a TCP listener capped at MaxConns client connections.
func (s *Server) listenTCP(l Listener) (bound, error) {
	ap := netip.MustParseAddrPort(l.Addr)
	tl, err := net.ListenTCP(tcpNetwork(ap.Addr()), net.TCPAddrFromAddrPort(ap))
	if err != nil {
		return bound{}, err
	}
	t := newTrackingListener(tl, s.cfg.MaxConns)
	return bound{addr: tl.Addr().(*net.TCPAddr).AddrPort(), stream: t, close: t.closeAll}, nil
}

// listenTLS is listenTCP serving TLS 1.2 or later with l's certificate.
func (s *Server) listenTLS(l Listener) (bound, error) {
	b, err := s.listenTCP(l)
	if err != nil {
		return bound{}, err
	}
	tc := l.TLS.Clone()
	tc.MinVersion = max(tc.MinVersion, tls.VersionTLS12)
	b.stream = tls.NewListener(b.stream, tc)
	return b, nil
}

func tcpNetwork(a netip.Addr) string {
	if a.Is4() {
		return "tcp4"
	}
	return "tcp"
}
