package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/relaygate/relaygate/client/pionclient"
	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/wire"
)

// failoverLab is a relaygate gateway and two relaynodes heartbeating into
// it, in different regions and sites (an unlocated client is given one
// candidate per region to measure), each on its own loopback address (as relays
// have their own addresses in production: the watcher tells relays apart
// by address).
type failoverLab struct {
	gateway string
	relays  []*labRelay
}

type labRelay struct {
	id, ip string
	proc   *testenv.Proc
}

// newFailoverLab starts the lab and waits until the gateway hands out
// both relays. drainTimeout is how long a relay told to stop keeps
// relaying its calls; short of the 10 s its Stop at cleanup grants.
func newFailoverLab(t *testing.T, drainTimeout time.Duration) *failoverLab {
	t.Helper()
	secret := randomSecret(t)
	_, gateway := startGateway(t, secret, "--probe-interval=500ms", "--explore-share=0", "--rate-user=off", "--rate-prefix=off")
	l := &failoverLab{gateway: gateway}
	for i, site := range []string{"aaa", "bbb"} {
		r := &labRelay{id: site + "-1", ip: fmt.Sprintf("127.0.0.%d", 2+i)}
		r.proc, _, _ = startRelaynode(t, secret, "--id="+r.id, "--region=r"+site, "--site="+site,
			"--lat=50", fmt.Sprintf("--lon=%d", 8+i), "--listen-udp="+r.ip+":0", "--listen-tcp=off",
			"--public-ip="+r.ip, "--allow-peers=127.0.0.0/8", "--gateway-url="+gateway, "--heartbeat-interval=1s",
			"--drain-timeout="+drainTimeout.String(),
			"--node-token="+testenv.Token(t, nodeJWTSecret, r.id, time.Hour))
		l.relays = append(l.relays, r)
	}
	c := l.client(t, "probe", nil)
	testenv.Eventually(t, "both relays selectable", 30*time.Second, 100*time.Millisecond, func() error {
		creds, err := c.Credentials(t.Context())
		if err == nil && creds.Backup == nil {
			err = fmt.Errorf("primary %s, no backup", creds.Primary.RelayID)
		}
		return err
	})
	return l
}

// client is a pionclient for user, with audio codecs, asking for ttl
// (nil: the gateway's default).
func (l *failoverLab) client(t *testing.T, user string, ttl *int64) *pionclient.Client {
	t.Helper()
	var m webrtc.MediaEngine
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	c, err := pionclient.New(l.gateway, pionclient.StaticToken(testenv.Token(t, userJWTSecret, user, time.Hour)), pionclient.Config{
		HTTPClient: &http.Client{Timeout: 5 * time.Second},
		Request:    wire.CredentialsRequest{TTLSeconds: ttl},
		APIOptions: []func(*webrtc.API){webrtc.WithMediaEngine(&m)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// relayAt is the relay whose address is ip, nil when none.
func (l *failoverLab) relayAt(ip string) *labRelay {
	for _, r := range l.relays {
		if r.ip == ip {
			return r
		}
	}
	return nil
}

// arrivals records when a peer received each RTP packet.
type arrivals struct {
	mu   sync.Mutex
	at   []time.Time
	wake chan struct{} // closed on the next packet
}

func (a *arrivals) add(at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.at = append(a.at, at)
	if a.wake != nil {
		close(a.wake)
		a.wake = nil
	}
}

// waitFor waits until cond holds on the arrivals so far.
func (a *arrivals) waitFor(ctx context.Context, what string, cond func([]time.Time) bool) error {
	for {
		a.mu.Lock()
		ok := cond(a.at)
		n := len(a.at)
		if a.wake == nil {
			a.wake = make(chan struct{})
		}
		wake := a.wake
		a.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return fmt.Errorf("%s: %w after %d packets", what, ctx.Err(), n)
		}
	}
}

// gapAfter is the longest time between two packets, counting from the
// last packet before from.
func (a *arrivals) gapAfter(from time.Time) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	var gap time.Duration
	for i := 1; i < len(a.at); i++ {
		if !a.at[i].Before(from) {
			gap = max(gap, a.at[i].Sub(a.at[i-1]))
		}
	}
	return gap
}

func countAfter(from time.Time) func([]time.Time) bool {
	return func(at []time.Time) bool {
		n := 0
		for _, t := range at {
			if t.After(from) {
				n++
			}
		}
		return n >= 25 // half a second of audio
	}
}

// peer is a hardened pion peer sending audio (a 20 ms packet every 20 ms)
// and recording what it receives.
type peer struct {
	pc       *webrtc.PeerConnection
	creds    wire.Credentials
	received *arrivals
}

func newPeer(ctx context.Context, t *testing.T, c *pionclient.Client) *peer {
	t.Helper()
	creds, err := c.Credentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := c.API().NewPeerConnection(pionclient.Configuration(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	p := &peer{pc: pc, creds: creds, received: &arrivals{}}
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "relaygate")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			p.received.add(time.Now())
		}
	})
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		frame := bytes.Repeat([]byte{0xf8}, 80) // an opus frame's worth of bytes
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				_ = track.WriteSample(media.Sample{Data: frame, Duration: 20 * time.Millisecond})
			}
		}
	}()
	return p
}

// signalling is the app's signalling between a caller and a callee in one
// process: the caller offers with every candidate gathered (as
// pionclient.LocalDescription gives it), the callee answers at once and
// trickles its candidates, which wait until the caller has the answer
// they belong to.
type signalling struct {
	caller, callee *peer
	mu             sync.Mutex
	answered       bool                      // the caller has the callee's current answer
	queue          []webrtc.ICECandidateInit // the callee's candidates waiting for it
}

func newCall(t *testing.T, caller, callee *peer) *signalling {
	c := &signalling{caller: caller, callee: callee}
	pionclient.OnICECandidate(callee.pc, func(cand *webrtc.ICECandidate) {
		if cand == nil {
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if !c.answered {
			c.queue = append(c.queue, cand.ToJSON())
			return
		}
		if err := caller.pc.AddICECandidate(cand.ToJSON()); err != nil {
			t.Errorf("add the callee's candidate: %v", err)
		}
	})
	return c
}

// negotiate delivers offer to the callee and its answer to the caller:
// WatchConfig.Renegotiate for the caller's watcher, and the first call.
func (c *signalling) negotiate(_ context.Context, offer webrtc.SessionDescription) error {
	c.mu.Lock()
	c.answered = false
	c.mu.Unlock()
	if err := c.callee.pc.SetRemoteDescription(offer); err != nil {
		return err
	}
	answer, err := c.callee.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := c.callee.pc.SetLocalDescription(answer); err != nil {
		return err
	}
	ld := c.callee.pc.LocalDescription()
	if err := pionclient.CheckSDP(ld.SDP); err != nil {
		return err
	}
	if err := c.caller.pc.SetRemoteDescription(*ld); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.answered = true
	for _, cand := range c.queue {
		if err := c.caller.pc.AddICECandidate(cand); err != nil {
			return fmt.Errorf("add the callee's candidate: %w", err)
		}
	}
	c.queue = nil
	return nil
}

// start makes the first offer and answer.
func (c *signalling) start(ctx context.Context, t *testing.T) {
	t.Helper()
	offer, err := c.caller.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	offer, err = pionclient.LocalDescription(ctx, c.caller.pc, offer)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.negotiate(ctx, offer); err != nil {
		t.Fatal(err)
	}
}

// selected is pc's selected candidate pair, nil before there is one.
func selected(pc *webrtc.PeerConnection) *webrtc.ICECandidatePair {
	p, err := pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil {
		return nil
	}
	return p
}

// nominated waits for pc's selected pair, relay to relay (pion sends over
// the best valid pair until it nominates one, a second or so after ICE
// connects).
func nominated(t *testing.T, pc *webrtc.PeerConnection) *webrtc.ICECandidatePair {
	t.Helper()
	var pair *webrtc.ICECandidatePair
	testenv.Eventually(t, "a nominated pair", 30*time.Second, 20*time.Millisecond, func() error {
		pair = selected(pc)
		if pair == nil || pair.Local.Typ != webrtc.ICECandidateTypeRelay || pair.Remote.Typ != webrtc.ICECandidateTypeRelay {
			return fmt.Errorf("selected pair %v; want relay to relay", pair)
		}
		return nil
	})
	return pair
}

// events collects a watcher's events.
type events struct {
	ch chan pionclient.Event
}

func (e events) on(ev pionclient.Event) { e.ch <- ev }

// next waits for an event of kind, failing on an error event.
func (e events) next(ctx context.Context, t *testing.T, kind pionclient.EventKind) pionclient.Event {
	t.Helper()
	for {
		select {
		case ev := <-e.ch:
			if ev.Kind == kind {
				return ev
			}
			if ev.Kind == pionclient.EventError {
				t.Logf("watcher error (it tries again): %v", ev.Err)
			}
		case <-ctx.Done():
			t.Fatalf("no %s event: %v", kind, ctx.Err())
		}
	}
}

// startWatchedCall starts a call from alice, the caller, asking for ttl
// (nil: the gateway's default), to bob on lab's relays, with the caller
// watched with cfg (its Renegotiate is the call's signalling; its OnEvent,
// if any, sees every event before the returned events do), and waits
// until the caller hears audio.
func startWatchedCall(ctx context.Context, t *testing.T, lab *failoverLab, ttl *int64, cfg pionclient.WatchConfig) (caller, callee *peer, ev events, w *pionclient.Watcher) {
	t.Helper()
	client := lab.client(t, "alice", ttl)
	caller, callee = newPeer(ctx, t, client), newPeer(ctx, t, lab.client(t, "bob", nil))
	c := newCall(t, caller, callee)
	ev = events{ch: make(chan pionclient.Event, 64)}
	cfg.Renegotiate = c.negotiate
	if on := cfg.OnEvent; on != nil {
		cfg.OnEvent = func(e pionclient.Event) { on(e); ev.on(e) }
	} else {
		cfg.OnEvent = ev.on
	}
	w, err := client.Watch(caller.pc, caller.creds, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	c.start(ctx, t)
	if err := caller.received.waitFor(ctx, "caller hears audio", countAfter(time.Time{})); err != nil {
		t.Fatal(err)
	}
	return caller, callee, ev, w
}

// TestPionFailoverAfterRelayKilled: two pionclient peers call each other
// relay-only, audio both ways, through real relaynodes that a real
// relaygate handed out; the caller's Watcher watches the call. The relay
// carrying the caller's media is SIGKILLed mid-call: the watcher sees
// the stall, restarts ICE without the dead relay, and the audio resumes
// both ways over the other relay. The gap each side heard is logged.
func TestPionFailoverAfterRelayKilled(t *testing.T) {
	lab := newFailoverLab(t, 200*time.Millisecond)
	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	defer cancel()
	caller, callee, ev, _ := startWatchedCall(ctx, t, lab, nil, pionclient.WatchConfig{})
	if err := callee.received.waitFor(ctx, "callee hears audio", countAfter(time.Time{})); err != nil {
		t.Fatal(err)
	}
	pair := nominated(t, caller.pc)
	dead := lab.relayAt(pair.Local.Address)
	if dead == nil {
		t.Fatal("the caller's media goes through no relay of the lab")
	}
	// When the callee's candidate is on the other relay, the pair does not
	// tell which relay died: the watcher probes both (WatchConfig.Probe).
	probed := lab.relayAt(pair.Remote.Address) != dead
	killed := time.Now()
	if err := dead.proc.Kill(); err != nil {
		t.Fatal(err)
	}

	if e := ev.next(ctx, t, pionclient.EventStalled); e.Relay != dead.id {
		t.Errorf("stalled on relay %q; want %q, the one killed", e.Relay, dead.id)
	}
	if e := ev.next(ctx, t, pionclient.EventRestarting); !slices.Equal(e.Excluded, []string{dead.id}) {
		t.Errorf("restarting without %v; want [%s]", e.Excluded, dead.id)
	}
	recovered := ev.next(ctx, t, pionclient.EventRecovered)
	for name, p := range map[string]*peer{"caller": caller, "callee": callee} {
		if err := p.received.waitFor(ctx, name+" hears audio again", countAfter(killed)); err != nil {
			t.Fatal(err)
		}
	}
	for name, p := range map[string]*peer{"caller": caller, "callee": callee} {
		// pion sends over the best valid pair until it nominates one, a
		// second or so after an ICE restart.
		testenv.Eventually(t, name+"'s pair nominated", 30*time.Second, 50*time.Millisecond, func() error {
			pair := selected(p.pc)
			if pair == nil || pair.Local.Typ != webrtc.ICECandidateTypeRelay || pair.Remote.Typ != webrtc.ICECandidateTypeRelay ||
				pair.Local.Address == dead.ip || pair.Remote.Address == dead.ip {
				return fmt.Errorf("pair %v; want relay to relay, neither on the killed relay", pair)
			}
			return nil
		})
	}
	if recovered.Relay == dead.id || recovered.Relay == "" {
		t.Errorf("recovered over %q; want the other relay", recovered.Relay)
	}
	callerGap, calleeGap := caller.received.gapAfter(killed), callee.received.gapAfter(killed)
	t.Logf("media gap after the kill: caller heard %v, callee %v; the watcher measured %v (stall window 300 ms)",
		callerGap.Round(time.Millisecond), calleeGap.Round(time.Millisecond), recovered.Gap.Round(time.Millisecond))
	t.Logf("FIGURE media-gap-ms %d probed %t", max(callerGap, calleeGap).Milliseconds(), probed)
}

// TestPionMoveOffDrainingRelay: the relay carrying a watched call shuts
// down (SIGTERM: it drains, still relaying its allocations, and says so in
// its heartbeat); the watcher learns it from GET /v1/call-relays and moves
// the call to the other relay while the media still flows, so no stall.
func TestPionMoveOffDrainingRelay(t *testing.T) {
	lab := newFailoverLab(t, 6*time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	defer cancel()
	caller, callee, ev, _ := startWatchedCall(ctx, t, lab, nil, pionclient.WatchConfig{DrainCheck: 500 * time.Millisecond})
	pair := nominated(t, caller.pc)
	draining := lab.relayAt(pair.Local.Address)
	if draining == nil {
		t.Fatal("the caller's media goes through no relay of the lab")
	}
	began := time.Now()
	if err := draining.proc.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var moved pionclient.Event
	for moved.Kind == "" {
		select {
		case e := <-ev.ch:
			switch e.Kind {
			case pionclient.EventStalled, pionclient.EventError:
				t.Errorf("%s event while moving off a draining relay: %+v", e.Kind, e)
			case pionclient.EventDraining:
				if e.Relay != draining.id {
					t.Errorf("draining %q; want %q", e.Relay, draining.id)
				}
			case pionclient.EventMoved:
				moved = e
			}
		case <-ctx.Done():
			t.Fatalf("the call did not move: %v", ctx.Err())
		}
	}
	if moved.From != draining.id || moved.Relay == draining.id || moved.Relay == "" {
		t.Errorf("moved from %q to %q; want from %q to the other relay", moved.From, moved.Relay, draining.id)
	}
	for name, p := range map[string]*peer{"caller": caller, "callee": callee} {
		if err := p.received.waitFor(ctx, name+" hears audio after the move", countAfter(time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	callerGap, calleeGap := caller.received.gapAfter(began), callee.received.gapAfter(began)
	t.Logf("moved off the draining relay %v after SIGTERM; longest gap: caller heard %v, callee %v",
		time.Since(began).Round(time.Millisecond), callerGap.Round(time.Millisecond), calleeGap.Round(time.Millisecond))
}

// TestPionRefreshBeforeExpiry: a watched call on one-minute credentials
// gets fresh ones from the real gateway at 80 % of their lifetime, before
// they expire, and they become the connection's configuration. The
// watcher's clock runs a second per reading, so the minute passes in
// about ten seconds.
func TestPionRefreshBeforeExpiry(t *testing.T) {
	lab := newFailoverLab(t, 200*time.Millisecond)
	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	defer cancel()
	ttl := int64(wire.MinCredentialTTL / time.Second)
	base := time.Now()
	var readings atomic.Int64
	now := func() time.Time { return base.Add(time.Duration(readings.Add(1)) * time.Second) }
	var at atomic.Pointer[time.Time] // the watcher's time at the refresh
	// Stall: a second per reading is no time for the call to stall in.
	caller, _, ev, w := startWatchedCall(ctx, t, lab, &ttl, pionclient.WatchConfig{Now: now, Stall: time.Hour, OnEvent: func(e pionclient.Event) {
		if e.Kind == pionclient.EventRefreshed {
			n := now()
			at.Store(&n)
		}
	}})
	old := caller.creds
	e := ev.next(ctx, t, pionclient.EventRefreshed)
	refreshedAt := *at.Load()
	due := base.Add(time.Duration(float64(ttl)*0.8) * time.Second)
	if refreshedAt.Before(due) || !refreshedAt.Before(old.ExpiresAt) {
		t.Errorf("refreshed at %v after the watch began; want from %v, before the credentials expire at %v",
			refreshedAt.Sub(base), due.Sub(base), old.ExpiresAt.Sub(base))
	}
	fresh := w.Credentials()
	if !e.ExpiresAt.Equal(fresh.ExpiresAt) || !fresh.ExpiresAt.After(old.ExpiresAt) || fresh.Credential == old.Credential {
		t.Errorf("refreshed credentials expire %v (event %v); want later than the old ones' %v, with a new credential",
			fresh.ExpiresAt, e.ExpiresAt, old.ExpiresAt)
	}
	servers := caller.pc.GetConfiguration().ICEServers
	if len(servers) == 0 || servers[0].Credential != fresh.Credential || servers[0].Username != fresh.Username {
		t.Error("the connection's configuration does not carry the refreshed credentials")
	}
}

// TestPionPreCallMeasurement: before its first call a pionclient measures
// the relays the real gateway lists (GET /v1/candidates) with a STUN
// binding to each real relaynode, within the budget, and reports the RTTs
// inline in POST /v1/credentials; the gateway picks with them. What goes
// to the gateway is relay ids and RTTs, no address.
func TestPionPreCallMeasurement(t *testing.T) {
	lab := newFailoverLab(t, 200*time.Millisecond)
	rec := &bodyRecorder{next: http.DefaultTransport}
	c, err := pionclient.New(lab.gateway, pionclient.StaticToken(testenv.Token(t, userJWTSecret, "carol", time.Hour)), pionclient.Config{
		HTTPClient: &http.Client{Timeout: 5 * time.Second, Transport: rec},
	})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := c.Measure(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.RelayID)
		if m.RTTMs == nil || *m.RTTMs <= 0 || *m.RTTMs >= float64(wire.PreCallBudget.Milliseconds()) {
			t.Errorf("measurement of %s: rtt %v; want within the budget", m.RelayID, m.RTTMs)
		}
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"aaa-1", "bbb-1"}) {
		t.Errorf("measured %v; want both relays", ids)
	}

	creds, err := c.CredentialsWith(t.Context(), ms)
	if err != nil {
		t.Fatal(err)
	}
	if creds.Primary.Basis != "measured" || creds.Primary.EstimatedRTTMs == nil {
		t.Errorf("primary %s basis %q; want the gateway to pick with the measurement", creds.Primary.RelayID, creds.Primary.Basis)
	}
	bodies := rec.bodies()
	if len(bodies) != 2 || bodies[0] != "" {
		t.Fatalf("requests %q; want GET /v1/candidates without a body, then the credentials request", bodies)
	}
	var sent wire.CredentialsRequest
	dec := json.NewDecoder(strings.NewReader(bodies[1]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sent); err != nil || len(sent.Measurements) != len(ms) {
		t.Errorf("credentials request %q: %v; want the %d measurements inline", bodies[1], err, len(ms))
	}
	for _, b := range bodies {
		if strings.Contains(b, "127.0.0.") || strings.Contains(b, "::") {
			t.Errorf("a request to the gateway carries an address: %q", b)
		}
	}
}

// bodyRecorder is an http.RoundTripper that records the request bodies
// (URLs and headers aside) before passing the requests on.
type bodyRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	sent []string
}

func (r *bodyRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var b []byte
	if req.Body != nil {
		var err error
		if b, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	r.mu.Lock()
	r.sent = append(r.sent, string(b))
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *bodyRecorder) bodies() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sent)
}
