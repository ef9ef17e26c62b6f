package turnrelay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/turnrelay/dataplane"
	"github.com/relaygate/relaygate/turnrelay/heartbeat"
	"github.com/relaygate/relaygate/turnrelay/peerfilter"
	"github.com/relaygate/relaygate/turnrelay/quota"
	"github.com/relaygate/relaygate/turnrelay/turncred"
)

// Addrs are the addresses a Server listens on; a zero AddrPort is a
// listener that is off.
type Addrs struct {
	UDP, TCP, TLS netip.AddrPort
}

// Server is one relay node: a TURN server with the credential check, peer
// filter, quotas, metrics and heartbeats of relaygate.
type Server struct {
	cfg      Config
	log      *slog.Logger
	verifier *turncred.Verifier
	secrets  []turncred.Secret
	filter   *peerfilter.Filter
	ledger   *quota.Ledger
	data     *dataplane.Plane
	metrics  *metrics
	hb       *heartbeat.Client // nil: no gateway

	bind4, public4 netip.Addr
	bind6, public6 netip.Addr

	udp      *dataplane.Listener
	tcp, tls *trackingListener
	tlsLn    net.Listener
	addrs    Addrs

	load quota.Meter // relayed bit rate between heartbeats

	mu      sync.Mutex // guards below
	started bool
	closed  bool
}

// New validates cfg and binds the listeners; it starts no goroutine. Call
// Run to serve, or Close to release the sockets without serving. Every
// rejected setting is reported, and the relay never starts on a config it
// cannot enforce (never fails open).
func New(cfg Config, log *slog.Logger) (*Server, error) {
	if log == nil {
		return nil, errors.New("turnrelay: nil logger")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("turnrelay: config: %w", err)
	}
	verifier, err := turncred.NewVerifier(cfg.Secrets)
	if err != nil {
		return nil, fmt.Errorf("turnrelay: %w", err)
	}
	filter, err := peerfilter.New(cfg.AllowPeers, cfg.DenyPeers)
	if err != nil {
		return nil, fmt.Errorf("turnrelay: peer filter: %w", err)
	}
	ledger, err := quota.New(cfg.quota(), cfg.Now())
	if err != nil {
		return nil, fmt.Errorf("turnrelay: config: %w", err)
	}
	s := &Server{
		cfg:      cfg,
		log:      log,
		verifier: verifier,
		secrets:  verifier.Secrets(),
		filter:   filter,
		ledger:   ledger,
		data:     dataplane.New(dataplane.Config{Filter: filter, Bandwidth: ledger.Bandwidth(), Now: cfg.Now}),
	}
	s.metrics = newMetrics(s)
	if err := s.resolveRelayIPs(); err != nil {
		return nil, fmt.Errorf("turnrelay: config: %w", err)
	}
	if err := s.listen(); err != nil {
		s.closeSockets()
		return nil, fmt.Errorf("turnrelay: %w", err)
	}
	if cfg.Heartbeat.GatewayURL != "" {
		if s.hb, err = heartbeat.New(cfg.Heartbeat, s.heartbeatNode(), s.heartbeatStatus, log.With("component", "heartbeat")); err != nil {
			s.closeSockets()
			return nil, fmt.Errorf("turnrelay: %w", err)
		}
	}
	return s, nil
}

// resolveRelayIPs picks, per family, the socket address relay ports bind on
// (the listener's IP when specific, else the wildcard) and the address
// advertised in XOR-RELAYED-ADDRESS (--public-ip, else the listener's IP).
func (s *Server) resolveRelayIPs() error {
	s.bind4, s.bind6 = netip.IPv4Unspecified(), netip.IPv6Unspecified()
	for _, a := range []string{s.cfg.ListenUDP, s.cfg.ListenTCP, s.cfg.ListenTLS} {
		if a == "" {
			continue
		}
		ip := netip.MustParseAddrPort(a).Addr().Unmap()
		if ip.IsUnspecified() {
			continue
		}
		if ip.Is4() && s.bind4.IsUnspecified() {
			s.bind4, s.public4 = ip, ip
		}
		if ip.Is6() && s.bind6.IsUnspecified() {
			s.bind6, s.public6 = ip, ip
		}
	}
	for _, ip := range s.cfg.PublicIPs {
		if ip = ip.Unmap(); ip.Is4() {
			s.public4 = ip
		} else {
			s.public6 = ip
		}
	}
	if !s.public4.IsValid() && !s.public6.IsValid() {
		return errors.New("public-ip is required when the listeners bind a wildcard address")
	}
	return nil
}

func (s *Server) listen() error {
	if a := s.cfg.ListenUDP; a != "" {
		l, err := s.data.ListenUDP(netip.MustParseAddrPort(a))
		if err != nil {
			return fmt.Errorf("listen-udp: %w", err)
		}
		s.udp = l
		s.addrs.UDP = l.Addr()
	}
	listenTCP := func(name, a string) (*trackingListener, netip.AddrPort, error) {
		ap := netip.MustParseAddrPort(a)
		l, err := net.ListenTCP(tcpNetwork(ap.Addr()), net.TCPAddrFromAddrPort(ap))
		if err != nil {
			return nil, netip.AddrPort{}, fmt.Errorf("%s: %w", name, err)
		}
		return newTrackingListener(l, s.cfg.MaxConns), l.Addr().(*net.TCPAddr).AddrPort(), nil
	}
	var err error
	if a := s.cfg.ListenTCP; a != "" {
		if s.tcp, s.addrs.TCP, err = listenTCP("listen-tcp", a); err != nil {
			return err
		}
	}
	if a := s.cfg.ListenTLS; a != "" {
		if s.tls, s.addrs.TLS, err = listenTCP("listen-tls", a); err != nil {
			return err
		}
		tc := s.cfg.TLS.Clone()
		tc.MinVersion = max(tc.MinVersion, 0x0303) // TLS 1.2
		s.tlsLn = tlsListener(s.tls, tc)
	}
	return nil
}

func tcpNetwork(a netip.Addr) string {
	if a.Is4() {
		return "tcp4"
	}
	return "tcp"
}

// Addrs returns the bound listener addresses.
func (s *Server) Addrs() Addrs { return s.addrs }

// Allocations is the number of live allocations.
func (s *Server) Allocations() int { return s.ledger.Allocations() }

// Draining reports whether the node has stopped taking allocations.
func (s *Server) Draining() bool { return s.ledger.Draining() }

// StartDrain stops taking new allocations (they get 508) and tells the
// gateway at once; live allocations keep relaying. Run calls it when its
// context ends; operators may call it earlier.
func (s *Server) StartDrain() {
	if s.ledger.Drain() {
		s.log.Info("draining", "allocations", s.Allocations())
		if s.hb != nil {
			s.hb.Kick()
		}
	}
}

// Run serves TURN until ctx ends, then drains: it heartbeats draining,
// refuses new allocations, waits until live ones end or DrainTimeout
// passes, and closes everything. It returns nil after a clean shutdown.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.started || s.closed {
		s.mu.Unlock()
		return errors.New("turnrelay: Run called twice or after Close")
	}
	s.started = true
	s.mu.Unlock()

	sc := turn.ServerConfig{
		Realm:              s.cfg.Realm,
		AuthHandler:        s.authenticate,
		QuotaHandler:       s.withinQuota,
		EventHandler:       s.eventHandler(),
		AllocationLifetime: s.cfg.AllocationLifetime,
		LoggerFactory:      newPionLogs(s.log.With("component", "pion")),
	}
	gen := generator{s: s}
	if s.udp != nil {
		for _, pc := range s.udp.PacketConns() { // one pion read loop per socket
			sc.PacketConnConfigs = append(sc.PacketConnConfigs, turn.PacketConnConfig{
				PacketConn: pc, RelayAddressGenerator: gen, PermissionHandler: s.permit,
			})
		}
	}
	if s.tcp != nil {
		sc.ListenerConfigs = append(sc.ListenerConfigs, turn.ListenerConfig{
			Listener: s.tcp, RelayAddressGenerator: gen, PermissionHandler: s.permit,
		})
	}
	if s.tlsLn != nil {
		sc.ListenerConfigs = append(sc.ListenerConfigs, turn.ListenerConfig{
			Listener: s.tlsLn, RelayAddressGenerator: gen, PermissionHandler: s.permit,
		})
	}
	ts, err := turn.NewServer(sc)
	if err != nil {
		s.closeSockets()
		return fmt.Errorf("turnrelay: start TURN server: %w", err)
	}
	s.log.Info("relay started", "udp", orOff(s.addrs.UDP), "tcp", orOff(s.addrs.TCP), "tls", orOff(s.addrs.TLS),
		"public_ipv4", orNone(s.public4), "public_ipv6", orNone(s.public6), "relay_ports", s.cfg.RelayPorts.String(),
		"heartbeat", s.hb != nil)

	var wg sync.WaitGroup
	hbCtx, stopHB := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHB()
	if s.hb != nil {
		wg.Go(func() { _ = s.hb.Run(hbCtx) })
	}

	<-ctx.Done()
	s.StartDrain()
	if s.waitIdle(s.cfg.DrainTimeout) {
		// The last allocation just went; let the answer to its final
		// Refresh leave before the listeners close.
		t := time.NewTimer(100 * time.Millisecond)
		<-t.C
	}
	if s.hb != nil { // the gateway hears draining before we go
		s.hb.WaitDrainReported(hbCtx)
	}
	s.log.Info("relay closing", "allocations_left", s.Allocations())
	err = ts.Close()
	s.closeSockets()
	// pion closes the remaining allocations from its read loops; wait for
	// their sockets so Run returns with nothing left behind.
	s.waitIdle(2 * time.Second)
	stopHB()
	wg.Wait()
	if err != nil {
		return fmt.Errorf("turnrelay: close: %w", err)
	}
	return nil
}

// waitIdle waits until no allocation is left, at most d. It reports
// whether it waited for allocations that then ended.
func (s *Server) waitIdle(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	waited := false
	for s.Allocations() > 0 {
		waited = true
		select {
		case <-s.ledger.Idle():
		case <-t.C:
			return false
		}
	}
	return waited
}

// Close releases the sockets of a Server that is not running. A running
// Server is closed by ending Run's context.
func (s *Server) Close() error {
	s.mu.Lock()
	running := s.started
	s.closed = true
	s.mu.Unlock()
	if running {
		return errors.New("turnrelay: Close on a running server; cancel Run's context")
	}
	s.closeSockets()
	return nil
}

func (s *Server) closeSockets() {
	if s.udp != nil {
		_ = s.udp.Close()
	}
	if s.tcp != nil {
		s.tcp.closeAll()
	}
	if s.tls != nil {
		s.tls.closeAll()
	}
}

// authenticate is pion's AuthHandler: it returns the long-term key for the
// TURN REST username, and the pseudonym as the allocation's user id (so a
// client may refresh with a newly minted credential of the same user).
//
// Expiry, by method:
//   - Allocate, and any method not listed below: an expired credential is
//     refused (401), so it can never start relaying.
//   - Refresh, CreatePermission, ChannelBind: refused only under
//     StrictExpiry. Without it a live call keeps its allocation and may
//     still add peers (ICE restarts, new candidates) until it ends; the
//     allocation exists only because a valid credential created it.
//
// Send indications and ChannelData carry no credential; they are bound to
// the allocation's 5-tuple.
func (s *Server) authenticate(ra *turn.RequestAttributes) (string, []byte, bool) {
	if ra.Realm != s.cfg.Realm {
		s.metrics.authFailures.WithLabelValues(authRealm).Inc()
		return "", nil, false
	}
	password, u, err := s.verifier.Password(ra.Username)
	if err != nil {
		s.metrics.authFailures.WithLabelValues(authMalformed).Inc()
		return "", nil, false
	}
	if s.expiryApplies(ra.Method) && u.Expired(s.cfg.Now()) {
		s.metrics.authFailures.WithLabelValues(authExpired).Inc()
		return "", nil, false
	}
	return u.Pseudonym(s.secrets), turn.GenerateAuthKey(ra.Username, s.cfg.Realm, password), true
}

func (s *Server) expiryApplies(m stun.Method) bool {
	switch m {
	case stun.MethodRefresh, stun.MethodCreatePermission, stun.MethodChannelBind:
		return s.cfg.StrictExpiry
	default:
		return true
	}
}

// onAuth counts integrity failures: pion calls it after checking
// MESSAGE-INTEGRITY with the key authenticate returned.
func (s *Server) onAuth(_, _ net.Addr, _, _, _ string, _ string, verdict bool) {
	if !verdict {
		s.metrics.authFailures.WithLabelValues(authMismatch).Inc()
	}
}

// eventHandler counts allocations and keeps the ChannelData fast path in
// step with pion's allocations, channels and permissions.
func (s *Server) eventHandler() turn.EventHandler {
	d := s.data
	return turn.EventHandler{
		OnAuth: s.onAuth,
		OnAllocationCreated: func(src, dst net.Addr, _, _, _ string, relay net.Addr, _ int) {
			s.metrics.allocationsTotal.Inc()
			d.AllocationCreated(src, dst, relay)
		},
		OnAllocationDeleted: func(src, dst net.Addr, _, _, _ string) { d.AllocationDeleted(src, dst) },
		OnChannelCreated: func(src, dst net.Addr, _, _, _ string, relay, peer net.Addr, n uint16) {
			d.ChannelCreated(src, dst, relay, peer, n)
		},
		OnChannelDeleted: func(src, dst net.Addr, _, _, _ string, relay, _ net.Addr, n uint16) {
			d.ChannelDeleted(src, dst, relay, n)
		},
		OnPermissionDeleted: func(src, dst net.Addr, _, _, _ string, relay net.Addr, peer net.IP) {
			d.PermissionDeleted(src, dst, relay, peer)
		},
	}
}

// permit is pion's PermissionHandler for CreatePermission, ChannelBind and
// Connect. pion answers a refusal with 403 to CreatePermission and Connect,
// and with 401 to ChannelBind (pion/turn v5.1.3's choice).
func (s *Server) permit(_ net.Addr, peer net.IP) bool {
	ip, ok := netip.AddrFromSlice(peer)
	if ok && s.filter.Allowed(ip) {
		return true
	}
	s.metrics.permitDenied.Add(1)
	return false
}

// withinQuota is pion's QuotaHandler: 486 when the user already holds UserQuota
// allocations. The count is re-checked and reserved when the relay socket
// is bound, so concurrent allocations cannot overshoot (they get 508).
func (s *Server) withinQuota(userID, _ string, _ net.Addr) bool {
	if s.ledger.UserFull(userID) {
		s.metrics.quotaRejections.WithLabelValues(quotaUser).Inc()
		return false
	}
	return true
}

// reserve takes one allocation from the node's capacity and user's quota,
// counting a refusal by its kind.
func (s *Server) reserve(user string) error {
	err := s.ledger.Reserve(user, s.cfg.Now())
	if err != nil {
		s.metrics.quotaRejections.WithLabelValues(quotaKind(err)).Inc()
	}
	return err
}

// heartbeatStatus is the live part of a heartbeat: load since the last one.
func (s *Server) heartbeatStatus() heartbeat.Status {
	st := s.data.Stats()
	bps := s.load.BPS(st.BytesToPeer+st.BytesFromPeer, s.cfg.Now())
	return heartbeat.Status{Allocations: int64(s.Allocations()), BandwidthBPS: bps, Draining: s.Draining()}
}

// heartbeatNode is what heartbeats say about the node that does not change.
func (s *Server) heartbeatNode() heartbeat.Node {
	n := heartbeat.Node{MaxAllocations: int64(s.cfg.MaxAllocations), MaxBPS: s.cfg.MaxBPS}
	for _, ip := range []netip.Addr{s.public4, s.public6} {
		if ip.IsValid() {
			n.Addresses = append(n.Addresses, ip)
		}
	}
	n.Ports[relay.UDP] = s.addrs.UDP.Port()
	n.Ports[relay.TCP] = s.addrs.TCP.Port()
	n.Ports[relay.TLS] = s.addrs.TLS.Port()
	return n
}

// orOff renders a listener address for the start-up log, "off" when unset.
func orOff(a netip.AddrPort) string {
	if !a.IsValid() {
		return "off"
	}
	return a.String()
}

// orNone renders an advertised address for the start-up log.
func orNone(a netip.Addr) string {
	if !a.IsValid() {
		return "none"
	}
	return a.String()
}
