package turnrelay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/turn/v5"

	"github.com/relaygate/relaygate/netpolicy"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/turnrelay/dataplane"
	"github.com/relaygate/relaygate/turnrelay/heartbeat"
	"github.com/relaygate/relaygate/turnrelay/quota"
	"github.com/relaygate/relaygate/turnrelay/secretmatch"
	"github.com/relaygate/relaygate/turnrelay/turncred"
	"github.com/relaygate/relaygate/turnrelay/usage"
)

// Server is one relay node: a TURN server with the credential check, peer
// filter, quotas, metrics and heartbeats of relaygate. It owns the node's
// lifecycle and drain; its parts are the pion control plane (control.go),
// the data plane (package dataplane), the allocation ledger and bandwidth
// budget (package quota), the peer filter (package netpolicy) and the
// heartbeat client (package heartbeat), which also reports per-pseudonym
// usage (package usage).
type Server struct {
	cfg      Config
	log      *slog.Logger // component relay
	logs     *slog.Logger // New's, without a component: each part names its own
	verifier *turncred.Verifier
	secrets  []turncred.Secret    // verifier's, newest first: pseudonyms of any key id
	match    *secretmatch.Matcher // un-keyed usernames under older secrets; nil with one secret
	filter   *netpolicy.Filter
	ledger   *quota.Ledger
	data     *dataplane.Plane
	usage    *usage.Meter // per-pseudonym usage for the heartbeats
	metrics  *metrics
	hb       *heartbeat.Client          // nil: no gateway
	revs     revocations                // the gateway's revoked users and every user's live allocations
	load     quota.Meter                // relayed bit rate between heartbeats
	ips      relayIPs                   // where relay sockets bind, what they advertise
	lns      [relay.NumTransports]bound // by transport; zero: not offered
	state    atomic.Int32               // stateNew, stateRunning or stateClosed
}

// Server states: Run and Close each move a new Server on, once.
const (
	stateNew int32 = iota
	stateRunning
	stateClosed
)

// New validates cfg and binds the listeners; it starts no goroutine. Call
// Run to serve, or Close to release the sockets without serving. Every
// rejected setting is reported, and the relay never starts on a config it
// cannot enforce (never fails open). log should carry no "component" key:
// the Server's lines carry "relay", its parts' their own names.
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
	filter, err := netpolicy.New(cfg.AllowPeers, cfg.DenyPeers)
	if err != nil {
		return nil, fmt.Errorf("turnrelay: peer filter: allow-peers or deny-peers: %w", err)
	}
	ledger, err := quota.New(cfg.quota(), cfg.Now())
	if err != nil {
		return nil, fmt.Errorf("turnrelay: config: %w", err)
	}
	ips, err := newRelayIPs(cfg.Listeners, cfg.PublicIPs)
	if err != nil {
		return nil, fmt.Errorf("turnrelay: config: %w", err)
	}
	meter, err := usage.New(usage.Config{Now: cfg.Now})
	if err != nil {
		return nil, fmt.Errorf("turnrelay: %w", err)
	}
	s := &Server{
		cfg:      cfg,
		log:      log.With("component", "relay"),
		logs:     log,
		verifier: verifier,
		secrets:  verifier.Secrets(),
		filter:   filter,
		ledger:   ledger,
		data: dataplane.New(dataplane.Config{
			Filter: filter, Bandwidth: ledger.Bandwidth(), Now: cfg.Now,
			Notice: func(msg string) { log.Warn(msg, "component", "dataplane") },
		}),
		ips:   ips,
		usage: meter,
	}
	if s.match, err = s.newMatcher(); err != nil {
		return nil, fmt.Errorf("turnrelay: %w", err)
	}
	s.metrics = newMetrics(s)
	if err := s.listen(); err != nil {
		s.closeSockets()
		return nil, fmt.Errorf("turnrelay: %w", err)
	}
	if cfg.Heartbeat.GatewayURL != "" {
		hbCfg := cfg.Heartbeat
		hbCfg.Revoked = s.setRevocations
		hbCfg.Usage = meter
		if s.hb, err = heartbeat.New(hbCfg, s.heartbeatNode(), s.heartbeatStatus, log.With("component", "heartbeat")); err != nil {
			s.closeSockets()
			return nil, fmt.Errorf("turnrelay: %w", err)
		}
	}
	return s, nil
}

// Addrs returns the bound listener addresses by transport.
func (s *Server) Addrs() Addrs {
	var a Addrs
	for t, b := range s.lns {
		a[t] = b.addr
	}
	return a
}

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
	if !s.state.CompareAndSwap(stateNew, stateRunning) {
		return errors.New("turnrelay: Run called twice or after Close")
	}
	ts, err := turn.NewServer(s.turnConfig())
	if err != nil {
		s.closeSockets()
		return fmt.Errorf("turnrelay: start TURN server: %w", err)
	}
	s.logStarted()

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

// logStarted logs the listeners by transport ("off" when not offered), the
// advertised addresses and the relay port range.
func (s *Server) logStarted() {
	var attrs []any
	addrs := s.Addrs()
	for _, t := range relay.Transports() {
		attrs = append(attrs, t.String(), orOff(addrs[t]))
	}
	attrs = append(attrs, "public_ipv4", orNone(s.ips.public4), "public_ipv6", orNone(s.ips.public6),
		"relay_ports", s.cfg.RelayPorts.String(), "heartbeat", s.hb != nil)
	s.log.Info("relay started", attrs...)
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
	if s.state.CompareAndSwap(stateNew, stateClosed) {
		s.closeSockets()
		return nil
	}
	if s.state.Load() == stateRunning {
		return errors.New("turnrelay: Close on a running server; cancel Run's context")
	}
	return nil
}

func (s *Server) closeSockets() {
	for _, b := range s.lns {
		if b.close != nil {
			b.close()
		}
	}
	s.data.Close()
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
