package pionclient

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/relaygate/relaygate/wire"
)

// EventKind names what a Watcher saw or did.
type EventKind string

// The events of a Watcher, those of relaygate.js.
const (
	// EventStalled: the call made no progress for WatchConfig.Stall (or
	// ICE was disconnected or failed that long). Relay names the relay
	// that carried it.
	EventStalled EventKind = "stalled"
	// EventRestarting: the Watcher restarts ICE without Excluded and hands
	// the offer to WatchConfig.Renegotiate.
	EventRestarting EventKind = "restarting"
	// EventRecovered: the call progresses again after a restart, over
	// Relay; Gap is how long it made none.
	EventRecovered EventKind = "recovered"
	// EventRefreshed: fresh credentials, valid until ExpiresAt, are the
	// connection's configuration.
	EventRefreshed EventKind = "refreshed"
	// EventDraining: the gateway says to leave Relay, which carries the
	// call (it drains: maintenance or shutdown); the Watcher restarts ICE
	// without it while it still carries the media.
	EventDraining EventKind = "draining"
	// EventMoved: the call left From, a draining relay, for Relay, Since
	// after the move began.
	EventMoved EventKind = "moved"
	// EventError: Err, something the Watcher tried failed (a refresh, a
	// restart, the app's renegotiation); it tries again later.
	EventError EventKind = "error"
)

// Event is what a Watcher reports. It names relays by id, never by
// address, and carries no credential: an app may log it as it is.
type Event struct {
	Kind      EventKind
	Relay     string        // the relay that carried the call (stalled, draining) or carries it (recovered, moved); "" unknown
	From      string        // moved: the relay the call left
	Excluded  []string      // restarting, draining: the relays left out of the new configuration
	Since     time.Duration // stalled: how long the call made no progress; moved: how long the move took
	Gap       time.Duration // recovered: from the last progress before the stall to the first after
	ExpiresAt time.Time     // refreshed: when the new credentials expire
	Err       error         // error
}

// WatchConfig configures Client.Watch; Renegotiate is required, the rest
// has defaults.
type WatchConfig struct {
	// Renegotiate signals offer, an ICE-restart offer already set as the
	// connection's local description (gathered and checked, as
	// LocalDescription returns it), to the far end through the app's
	// signalling, and sets the far end's answer as the connection's
	// remote description. ctx bounds it (RestartTimeout).
	Renegotiate func(ctx context.Context, offer webrtc.SessionDescription) error
	// OnEvent gets each Event, on the Watcher's goroutine: it must not
	// block for long. Default none.
	OnEvent func(Event)
	// Poll is the period of the checks; default 150 ms, as relaygate.js.
	Poll time.Duration
	// Stall is how long a call that was receiving may receive nothing
	// before it counts as stalled; default 300 ms, as relaygate.js: an
	// audio stream sends every 20 ms, so 300 ms of silence is a dead
	// path, not jitter. Progress is bytes received on the connection's
	// ICE transport (RTP, RTCP, DTLS, SCTP).
	Stall time.Duration
	// ICEOnly makes only a disconnected or failed ICE state (for Stall) a
	// stall, for calls whose far end may be silent for long (a data
	// channel alone). Default false.
	ICEOnly bool
	// Probe bounds the STUN binding sent to each of the call's relays on
	// a stall when the candidate pair does not tell which one died (the
	// far end's candidate was on our other relay, or ours on no known
	// one); default 500 ms: five bindings unanswered.
	Probe time.Duration
	// RestartTimeout is how long a restart has to recover the call before
	// the Watcher may restart again; default 10 s.
	RestartTimeout time.Duration
	// Exclude is how long a dead relay stays out of the configuration;
	// default 2 min.
	Exclude time.Duration
	// RefreshAt is the share of the credentials' lifetime after which
	// they are refreshed; default 0.8, so a restart late in a long call
	// never presents an expired credential.
	RefreshAt float64
	// DrainCheck is the period of GET /v1/call-relays about the relay
	// carrying the call; default 5 s, as relaygate.js; negative: never.
	DrainCheck time.Duration
	// Now reads the clock that times stalls, refreshes and exclusions;
	// default time.Now.
	Now func() time.Time
}

// Defaults of WatchConfig; see its fields.
const (
	defaultPoll           = 150 * time.Millisecond
	defaultStall          = 300 * time.Millisecond
	defaultProbe          = 500 * time.Millisecond
	defaultRestartTimeout = 10 * time.Second
	defaultExclude        = 2 * time.Minute
	defaultRefreshAt      = 0.8
	defaultDrainCheck     = 5 * time.Second
	// moveTimeout is how long a move off a draining relay has before it
	// may be tried again, as relaygate.js.
	moveTimeout = 15 * time.Second
	// refreshRetry is the wait after a failed refresh: the gateway may be
	// restarting; the credentials still hold for a fifth of their life.
	refreshRetry = 5 * time.Second
)

func (c WatchConfig) withDefaults() WatchConfig {
	c.Poll = cmp.Or(c.Poll, defaultPoll)
	c.Stall = cmp.Or(c.Stall, defaultStall)
	c.Probe = cmp.Or(c.Probe, defaultProbe)
	c.RestartTimeout = cmp.Or(c.RestartTimeout, defaultRestartTimeout)
	c.Exclude = cmp.Or(c.Exclude, defaultExclude)
	c.RefreshAt = cmp.Or(c.RefreshAt, defaultRefreshAt)
	c.DrainCheck = cmp.Or(c.DrainCheck, defaultDrainCheck)
	if c.OnEvent == nil {
		c.OnEvent = func(Event) {}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func (c WatchConfig) validate() error {
	var errs []error
	if c.Renegotiate == nil {
		errs = append(errs, errors.New("no Renegotiate"))
	}
	for name, d := range map[string]time.Duration{"poll": c.Poll, "stall": c.Stall, "probe": c.Probe, "restart timeout": c.RestartTimeout, "exclude": c.Exclude} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s %v is negative", name, d))
		}
	}
	if c.RefreshAt <= 0 || c.RefreshAt >= 1 {
		errs = append(errs, fmt.Errorf("refresh at %v out of range (0, 1)", c.RefreshAt))
	}
	return errors.Join(errs...)
}

// Watcher keeps one call alive over relaygate's relays, as relaygate.js's
// watch does: it restarts ICE without a relay that died or drains, and
// refreshes the credentials before they expire. Client.Watch starts it.
type Watcher struct {
	c    *Client
	pc   *webrtc.PeerConnection
	cfg  WatchConfig
	stop context.CancelFunc
	done chan struct{}

	mu    sync.Mutex
	creds wire.Credentials // guarded by mu

	// Owned by run's goroutine.
	fetchedAt time.Time
	excluded  map[string]time.Time // TURN URL -> until
	det       detector
	moving    string    // the draining relay the call is moving off, "" when none
	movedAt   time.Time // when that move began
}

// Watch watches pc, a connection the app made with creds (Configuration
// of them, on this client's API), until Stop or until pc closes. It
// checks the call every Poll: when the call stops receiving for Stall, it
// finds which relay died (the one carrying the call, or one that no
// longer answers STUN), sets a configuration without it, restarts ICE and
// hands the offer to cfg.Renegotiate; every DrainCheck it asks the gateway
// whether the relay carrying the call drains, and if so moves the call
// off it the same way; at RefreshAt of the credentials' lifetime it asks
// the gateway for fresh ones and sets them (after a failure, again in 5 s
// or the Retry-After the gateway sent). It reports through cfg.OnEvent.
func (c *Client) Watch(pc *webrtc.PeerConnection, creds wire.Credentials, cfg WatchConfig) (*Watcher, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("pionclient: watch config: %w", err)
	}
	if pc == nil {
		return nil, errors.New("pionclient: watch: no peer connection")
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Watcher{
		c: c, pc: pc, cfg: cfg, stop: cancel, done: make(chan struct{}),
		creds: creds, fetchedAt: cfg.Now(), excluded: map[string]time.Time{},
		det: detector{stall: cfg.Stall, restartTimeout: cfg.RestartTimeout, iceOnly: cfg.ICEOnly},
	}
	go w.run(ctx)
	return w, nil
}

// Stop ends the watch and waits until the Watcher has stopped.
func (w *Watcher) Stop() {
	w.stop()
	<-w.done
}

// Credentials are the credentials the connection uses now: those Watch
// got, or the last refresh's.
func (w *Watcher) Credentials() wire.Credentials {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.creds
}

type refreshed struct {
	creds wire.Credentials
	err   error
}

// asked is the gateway's answer about the relay that carried the call.
type asked struct {
	relay string
	leave bool
	err   error
}

func (w *Watcher) run(ctx context.Context) {
	defer close(w.done)
	tick := time.NewTicker(w.cfg.Poll)
	defer tick.Stop()
	due := w.refreshDue()
	drainDue := w.cfg.Now().Add(w.cfg.DrainCheck)
	var refreshes chan refreshed // not nil while a refresh is in flight
	var asks chan asked          // not nil while a drain check is in flight
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-refreshes:
			refreshes = nil
			due = w.applyRefresh(r)
			continue
		case a := <-asks:
			asks = nil
			w.leaveIfDraining(ctx, a)
			continue
		case <-tick.C:
		}
		if w.pc.ConnectionState() == webrtc.PeerConnectionStateClosed {
			return
		}
		now := w.cfg.Now()
		if refreshes == nil && !now.Before(due) {
			refreshes = make(chan refreshed, 1)
			go func(out chan<- refreshed) {
				creds, err := w.c.Credentials(ctx)
				out <- refreshed{creds, err}
			}(refreshes)
		}
		if w.cfg.DrainCheck > 0 && asks == nil && !now.Before(drainDue) {
			drainDue = now.Add(w.cfg.DrainCheck)
			if relay := w.drainCheckable(now); relay != "" {
				asks = make(chan asked, 1)
				go func(out chan<- asked) {
					leave, err := w.c.leave(ctx, relay)
					out <- asked{relay, leave, err}
				}(asks)
			}
		}
		w.poll(ctx, now)
	}
}

// drainCheckable is the relay to ask the gateway about: the one carrying
// the call, unless the call is stalled or moving.
func (w *Watcher) drainCheckable(now time.Time) string {
	if w.det.stalled || (w.moving != "" && now.Sub(w.movedAt) < moveTimeout) {
		return ""
	}
	local, _ := w.carrier(w.pc.SCTP().Transport().ICETransport())
	return local
}

// leaveIfDraining moves the call off a.relay when the gateway said to
// leave it and it still carries the call.
func (w *Watcher) leaveIfDraining(ctx context.Context, a asked) {
	if a.err != nil {
		w.cfg.OnEvent(Event{Kind: EventError, Err: a.err})
		return
	}
	now := w.cfg.Now()
	if !a.leave || w.drainCheckable(now) != a.relay {
		return
	}
	w.moving, w.movedAt = a.relay, now
	creds := w.Credentials()
	w.exclude(creds, []string{a.relay}, now)
	w.cfg.OnEvent(Event{Kind: EventDraining, Relay: a.relay, Excluded: []string{a.relay}})
	ctx, cancel := context.WithTimeout(ctx, w.cfg.RestartTimeout)
	defer cancel()
	if err := w.restartICE(ctx, creds, now); err != nil {
		w.cfg.OnEvent(Event{Kind: EventError, Err: err})
	}
}

// exclude leaves the relays' URLs out of configurations for Exclude.
func (w *Watcher) exclude(creds wire.Credentials, relays []string, now time.Time) {
	for _, ch := range creds.Choices() {
		if slices.Contains(relays, ch.RelayID) {
			for _, u := range ch.URLs {
				w.excluded[u] = now.Add(w.cfg.Exclude)
			}
		}
	}
}

// refreshDue is when the current credentials are to be refreshed.
func (w *Watcher) refreshDue() time.Time {
	creds := w.Credentials()
	ttl := time.Duration(creds.TTLSeconds) * time.Second
	if ttl <= 0 {
		ttl = creds.ExpiresAt.Sub(w.fetchedAt)
	}
	return w.fetchedAt.Add(time.Duration(float64(ttl) * w.cfg.RefreshAt))
}

// applyRefresh sets the refreshed credentials on the connection and
// returns when to refresh next.
func (w *Watcher) applyRefresh(r refreshed) time.Time {
	now := w.cfg.Now()
	if r.err == nil {
		r.err = w.setServers(r.creds, now)
	}
	if r.err != nil {
		w.cfg.OnEvent(Event{Kind: EventError, Err: fmt.Errorf("refresh credentials: %w", r.err)})
		wait := refreshRetry
		if ge := (*GatewayError)(nil); errors.As(r.err, &ge) {
			wait = max(wait, ge.RetryAfter) // the gateway's word, capped at an hour by parseRetryAfter
		}
		return now.Add(wait)
	}
	w.mu.Lock()
	w.creds = r.creds
	w.mu.Unlock()
	w.fetchedAt = now
	w.cfg.OnEvent(Event{Kind: EventRefreshed, ExpiresAt: r.creds.ExpiresAt})
	return w.refreshDue()
}

// setServers makes creds' ICE servers, less the excluded URLs, the
// connection's, for its next gathering.
func (w *Watcher) setServers(creds wire.Credentials, now time.Time) error {
	cfg := w.pc.GetConfiguration()
	cfg.ICEServers = Configuration(without(creds, w.excludedURLs(now))).ICEServers
	cfg.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	if err := w.pc.SetConfiguration(cfg); err != nil {
		return fmt.Errorf("set configuration: %w", err)
	}
	return nil
}

// poll reads the call's progress and acts on what the detector makes of
// it.
func (w *Watcher) poll(ctx context.Context, now time.Time) {
	ice := w.pc.SCTP().Transport().ICETransport()
	st := w.pc.ICEConnectionState()
	bad := st == webrtc.ICEConnectionStateDisconnected || st == webrtc.ICEConnectionStateFailed
	connected := st == webrtc.ICEConnectionStateConnected || st == webrtc.ICEConnectionStateCompleted
	if w.moving != "" {
		if local, _ := w.carrier(ice); local != "" && local != w.moving {
			w.cfg.OnEvent(Event{Kind: EventMoved, Relay: local, From: w.moving, Since: now.Sub(w.movedAt)})
			w.moving = ""
		}
	}
	switch act, d := w.det.observe(now, ice.Stats().BytesReceived, connected, bad); act {
	case actRecovered:
		local, _ := w.carrier(ice)
		w.cfg.OnEvent(Event{Kind: EventRecovered, Relay: local, Gap: d})
	case actStalled:
		local, remote := w.carrier(ice)
		w.cfg.OnEvent(Event{Kind: EventStalled, Relay: local, Since: d})
		w.restart(ctx, local, remote)
	case actRetry:
		local, remote := w.carrier(ice)
		w.restart(ctx, local, remote)
	}
}

// restart leaves the dead relay out, restarts ICE and has the app
// renegotiate.
func (w *Watcher) restart(ctx context.Context, local, remote string) {
	creds := w.Credentials()
	dead := w.deadRelays(ctx, creds, local, remote)
	now := w.cfg.Now()
	w.exclude(creds, dead, now)
	w.cfg.OnEvent(Event{Kind: EventRestarting, Relay: local, Excluded: dead})
	ctx, cancel := context.WithTimeout(ctx, w.cfg.RestartTimeout)
	defer cancel()
	if err := w.restartICE(ctx, creds, now); err != nil {
		w.cfg.OnEvent(Event{Kind: EventError, Err: err})
	}
}

func (w *Watcher) restartICE(ctx context.Context, creds wire.Credentials, now time.Time) error {
	if err := w.setServers(creds, now); err != nil {
		return fmt.Errorf("pionclient: restart: %w", err)
	}
	offer, err := w.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		return fmt.Errorf("pionclient: restart: create offer: %w", err)
	}
	offer, err = LocalDescription(ctx, w.pc, offer)
	if err != nil {
		return fmt.Errorf("pionclient: restart: %w", err)
	}
	if err := w.cfg.Renegotiate(ctx, offer); err != nil {
		return fmt.Errorf("pionclient: restart: renegotiate: %w", err)
	}
	return nil
}

// deadRelays names the relays to leave out of a restart. When the call's
// local candidate was on a known relay (local) and the far end's on the
// same relay or none of ours, it is that relay, as in relaygate.js. When
// the far end's sat on our other relay (remote), either may have died, and
// leaving ours out could leave us with the dead one alone; when the local
// relay is unknown, any may have. Then it is those of the call's relays
// that answer no STUN binding within Probe (none when all answer).
func (w *Watcher) deadRelays(ctx context.Context, creds wire.Credentials, local, remote string) []string {
	if local != "" && (remote == "" || remote == local) {
		return []string{local}
	}
	choices := creds.Choices()
	alive := make([]bool, len(choices))
	probed := make([]bool, len(choices))
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Probe)
	defer cancel()
	var wg sync.WaitGroup
	for i, ch := range choices {
		var addrs []netip.AddrPort
		for _, u := range ch.URLs {
			if a, ok := stunAddr(u); ok {
				addrs = append(addrs, a)
			}
		}
		if len(addrs) == 0 {
			continue // TURN over TCP or TLS only: no binding to send
		}
		probed[i] = true
		wg.Go(func() {
			_, err := bindingRTT(ctx, w.c.net, addrs)
			alive[i] = err == nil
		})
	}
	wg.Wait()
	var dead []string
	for i, ch := range choices {
		if probed[i] && !alive[i] {
			dead = append(dead, ch.RelayID)
		}
	}
	return dead
}

// lastHeard is when a pair last received anything: pion counts data on
// the selected pair only, so a pair not nominated yet has its last
// connectivity check (answer or request) instead.
func lastHeard(p webrtc.ICECandidatePairStats) webrtc.StatsTimestamp {
	return max(p.LastPacketReceivedTimestamp, p.LastResponseTimestamp, p.LastRequestReceivedTimestamp)
}

// carrier names the relays of the candidate pair carrying the call: its
// local candidate's, and its remote candidate's when that is a relay
// candidate on one of our relays; "" for what it cannot tell. The pair is
// the selected one, or, while pion has nominated none (it takes a second
// or so after an ICE restart, when pion sends over the best valid pair),
// the succeeded pair that last heard from the far end.
func (w *Watcher) carrier(ice *webrtc.ICETransport) (local, remote string) {
	creds := w.Credentials()
	if p, err := ice.GetSelectedCandidatePair(); err == nil && p != nil && p.Local != nil && p.Remote != nil {
		local = relayOfAddress(creds, p.Local.Address)
		if p.Remote.Typ == webrtc.ICECandidateTypeRelay {
			remote = relayOfAddress(creds, p.Remote.Address)
		}
		return local, remote
	}
	report := w.pc.GetStats()
	var best *webrtc.ICECandidatePairStats
	for _, s := range report {
		if p, ok := s.(webrtc.ICECandidatePairStats); ok && p.State == webrtc.StatsICECandidatePairStateSucceeded &&
			(best == nil || lastHeard(p) > lastHeard(*best)) {
			best = &p
		}
	}
	if best == nil {
		return "", ""
	}
	if c, ok := report[best.LocalCandidateID].(webrtc.ICECandidateStats); ok {
		local = relayOfAddress(creds, c.IP)
	}
	if c, ok := report[best.RemoteCandidateID].(webrtc.ICECandidateStats); ok && c.CandidateType == webrtc.ICECandidateTypeRelay {
		remote = relayOfAddress(creds, c.IP)
	}
	return local, remote
}

// relayOfAddress names the relay of creds whose URLs have the host addr:
// a relay candidate's address is the relay's relayed address, which
// relaygate's relays advertise in their URLs. pion does not say which
// TURN server a candidate came from.
func relayOfAddress(creds wire.Credentials, addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return ""
	}
	for _, ch := range creds.Choices() {
		for _, raw := range ch.URLs {
			if _, h, ok := uriIP(raw); ok && h == a.Unmap() {
				return ch.RelayID
			}
		}
	}
	return ""
}

// excludedURLs are the URLs left out until later than now.
func (w *Watcher) excludedURLs(now time.Time) map[string]bool {
	out := map[string]bool{}
	for u, until := range w.excluded {
		if now.Before(until) {
			out[u] = true
		} else {
			delete(w.excluded, u)
		}
	}
	return out
}

// without is creds with the URLs in exclude left out of its ICE servers,
// unless that would leave none: a call is never left without a relay.
func without(creds wire.Credentials, exclude map[string]bool) wire.Credentials {
	if len(exclude) == 0 {
		return creds
	}
	var kept []wire.ICEServer
	for _, s := range creds.ICEServers {
		s.URLs = slices.DeleteFunc(slices.Clone(s.URLs), func(u string) bool { return exclude[u] })
		if len(s.URLs) > 0 {
			kept = append(kept, s)
		}
	}
	if len(kept) > 0 {
		creds.ICEServers = kept
	}
	return creds
}
