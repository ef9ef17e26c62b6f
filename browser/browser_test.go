package browser

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/relaygate/relaygate/internal/testenv"
)

// side is what the page records about one end of the call.
type side struct {
	Packets int     `json:"packets"`
	MaxGap  float64 `json:"maxGap"`
	State   string  `json:"state"`
	Pair    *struct {
		LocalType  string `json:"localType"`
		RemoteType string `json:"remoteType"`
		LocalPort  int    `json:"localPort"`
		RemotePort int    `json:"remotePort"`
		URL        string `json:"url"`
	} `json:"pair"`
}

type event struct {
	Side   string         `json:"side"`
	Type   string         `json:"type"`
	T      float64        `json:"t"`
	Detail map[string]any `json:"detail"`
}

func sides(ctx context.Context, t *testing.T) map[string]side {
	t.Helper()
	return eval[map[string]side](ctx, t, `T.sides`)
}

func events(ctx context.Context, t *testing.T) []event {
	t.Helper()
	return eval[[]event](ctx, t, `T.events`)
}

// settle is how long a call runs before a relay is killed: by then Chromium
// has settled on one pair and stopped checking the others, as in a real call.
const settle = 8 * time.Second

// startCall starts the page's call, waits until audio flows both ways, then
// lets it run for settle.
func startCall(ctx context.Context, t *testing.T, opts string) map[string]side {
	t.Helper()
	beginCall(ctx, t, opts)
	return awaitCall(ctx, t)
}

// beginCall starts the page's call; awaitCall then waits until audio flows
// both ways and lets it run for settle.
func beginCall(ctx context.Context, t *testing.T, opts string) {
	t.Helper()
	// Not eval's 10 s: on a loaded machine two credential requests, two
	// gatherings and an offer/answer have taken longer.
	ok, err := run(ctx, 45*time.Second, chromedp.Evaluate[bool](`startCall(`+opts+`)`, chromedp.EvalAwaitPromise))
	if err != nil || !ok {
		t.Fatalf("startCall(%s) = %v, %v", opts, ok, err)
	}
}

func awaitCall(ctx context.Context, t *testing.T) map[string]side {
	t.Helper()
	// 50 packets is one second of 20 ms Opus frames.
	if err := poll(ctx, 45*time.Second, 100*time.Millisecond, `!!(T.sides.caller.packets > 50 && T.sides.callee.packets > 50 && T.sides.caller.pair && T.sides.callee.pair)`); err != nil {
		t.Fatalf("no audio both ways within 45s: %v; sides %+v; errors %v", err, sides(ctx, t), eval[[]string](ctx, t, `T.errors`))
	}
	n := int(settle / (20 * time.Millisecond))
	if err := poll(ctx, settle+10*time.Second, 100*time.Millisecond, fmt.Sprintf(`T.sides.caller.packets > %d && T.sides.callee.packets > %d`, n, n)); err != nil {
		t.Fatalf("call did not last %v: %v; sides %+v", settle, err, sides(ctx, t))
	}
	return sides(ctx, t)
}

// carrier is the relay that carries the call: the one the caller's selected
// pair allocated on.
func (e *env) carrier(t *testing.T, s map[string]side) *relay {
	t.Helper()
	for name, sd := range s {
		if sd.Pair.LocalType != "relay" || sd.Pair.RemoteType != "relay" {
			t.Errorf("%s's selected pair is %s -> %s, want relay -> relay", name, sd.Pair.LocalType, sd.Pair.RemoteType)
		}
	}
	r := e.relayOf(s["caller"].Pair.LocalPort)
	if r == nil {
		t.Fatalf("caller's local candidate port %d is on no test relay", s["caller"].Pair.LocalPort)
	}
	other := e.relayOf(s["callee"].Pair.LocalPort)
	if other == nil {
		t.Fatalf("callee's local candidate port %d is on no test relay", s["callee"].Pair.LocalPort)
	}
	t.Logf("call carried by caller:%s (port %d) callee:%s (port %d)", r.id, s["caller"].Pair.LocalPort,
		other.id, s["callee"].Pair.LocalPort)
	if other != r {
		// ICE may pair the caller's candidate on one relay with the callee's
		// on the other. These tests kill the relay that carries both ends;
		// with the call split, killing one leaves the other end's relay up,
		// a different scenario from the one measured here.
		t.Skipf("ICE split the call over two relays (caller on %s, callee on %s); this run cannot measure the scenario", r.id, other.id)
	}
	return r
}

// resumed waits up to d until both sides received half a second of audio
// more than before.
func resumed(ctx context.Context, before map[string]side, d time.Duration) error {
	return poll(ctx, d, 50*time.Millisecond, fmt.Sprintf(`T.sides.caller.packets > %d && T.sides.callee.packets > %d`,
		before["caller"].Packets+25, before["callee"].Packets+25))
}

// TestFailover: a relay-only call connects over relay candidates on both
// ends; when the relaynode carrying it is killed, watch() brings audio back
// both ways over the other relay, leaving the dead one out of the restart;
// in warm standby mode it switches to the standby, with a shorter gap. The
// control run without watch() shows the browser alone does not recover.
func TestFailover(t *testing.T) {
	requireChromium(t)
	t.Parallel()
	var plainGap, plainCPU float64 // what "with watch" measured, for "warm standby"
	t.Run("with watch", func(t *testing.T) {
		plainGap, plainCPU = restartRun(t, 41000, true)
		// The target is under 4 s and runs here measure 3.75-3.9 s, nearly all
		// of it Chromium's own timers; the bound leaves a loaded machine
		// headroom while still failing a watch that did nothing (the control
		// below never recovers).
		if plainGap >= 7000 {
			t.Errorf("gap %.0f ms, want under 7000 ms (target 4000 ms)", plainGap)
		}
	})
	t.Run("warm standby", func(t *testing.T) {
		gap := standbyRun(t, 47000, plainCPU)
		if gap >= plainGap {
			t.Errorf("warm standby gap %.0f ms, want below the plain restart's %.0f ms", gap, plainGap)
		}
		// Detection is 300 ms without packets plus up to 150 ms of polling;
		// the switch itself is a replaceTrack. A loaded machine's timers add
		// to that; anything near a plain restart's 4 s is not a switch.
		if gap >= 2000 {
			t.Errorf("warm standby gap %.0f ms, want under 2000 ms (target 1000 ms)", gap)
		}
	})
	t.Run("without watch the browser does not recover", func(t *testing.T) {
		e := newEnv(t, envConfig{portBase: 43000})
		ctx := e.browser()
		before := startCall(ctx, t, `{watch: false}`)
		dead := e.carrier(t, before)
		before = sides(ctx, t)
		dead.kill(t)
		const wait = 15 * time.Second
		if err := poll(ctx, wait, 50*time.Millisecond, fmt.Sprintf(`T.sides.caller.packets > %d || T.sides.callee.packets > %d`,
			before["caller"].Packets+25, before["callee"].Packets+25)); err == nil {
			t.Fatalf("audio came back without watch(): %+v", sides(ctx, t))
		}
		t.Logf("without watch(): no audio for %v after killing %s (state caller %s, callee %s)", wait, dead.id,
			sides(ctx, t)["caller"].State, sides(ctx, t)["callee"].State)
	})
}

// TestCredentialRefresh: a call whose credentials (60 s, the gateway's
// minimum) expire keeps working: watch() refreshes them before expiry, so
// the restart after a relay dies, past the first credentials' expiry,
// allocates with fresh ones on relays that run with --strict-expiry. A
// control call, started alongside in its own environment so both wait for
// expiry at once, has a page that fails every credentials request after the
// first, so watch() cannot refresh: the same restart does not bring its
// audio back, so this test would catch a watch() that stopped refreshing.
func TestCredentialRefresh(t *testing.T) {
	requireChromium(t)
	t.Parallel()
	e := newEnv(t, envConfig{portBase: 45000, strictExpiry: true})
	ec := newEnv(t, envConfig{portBase: 49000, strictExpiry: true})
	ctx, cctx := e.browser(), ec.browser()
	beginCall(ctx, t, `{watch: true, ttl: 60, measureMs: 5000}`)
	beginCall(cctx, t, `{watch: true, ttl: 60, measureMs: 5000, noRefresh: true}`)
	before, cbefore := awaitCall(ctx, t), awaitCall(cctx, t)
	dead, cdead := e.carrier(t, before), ec.carrier(t, cbefore)
	pastExpiry(ctx, t)
	pastExpiry(cctx, t)

	if n := eval[int](ctx, t, `T.refreshed`); n < 2 {
		t.Errorf("%d credential refreshes before expiry, want one per side", n)
	}
	if n := eval[int](ctx, t, `T.measurements`); n == 0 {
		t.Errorf("no RTT measurements reported to the gateway: events %+v", events(ctx, t))
	}
	if n := eval[int](cctx, t, `T.refreshed`); n != 0 {
		t.Fatalf("control: %d credential refreshes with refresh disabled, want 0", n)
	}
	for _, c := range []struct {
		ctx    context.Context
		name   string
		before map[string]side
	}{{ctx, "", before}, {cctx, "control: ", cbefore}} {
		for name, sd := range sides(c.ctx, t) {
			if sd.Packets <= c.before[name].Packets {
				t.Fatalf("%s%s: no audio after expiry, before any kill", c.name, name)
			}
		}
	}

	eval[bool](ctx, t, `(resetGaps(), true)`)
	before, cbefore = sides(ctx, t), sides(cctx, t)
	dead.kill(t)
	cdead.kill(t)
	ckilled := time.Now()
	if err := resumed(ctx, before, 15*time.Second); err != nil {
		t.Fatalf("after expiry, audio did not resume within 15s of killing %s: %v\nevents %+v", dead.id, err, events(ctx, t))
	}
	after := sides(ctx, t)
	t.Logf("after expiry and %d refreshes, killed %s: gap caller %.0f ms, callee %.0f ms",
		eval[int](ctx, t, `T.refreshed`), dead.id, after["caller"].MaxGap, after["callee"].MaxGap)

	// The control: no audio either way for 10 s after its kill.
	const wait = 10 * time.Second
	if err := poll(cctx, time.Until(ckilled.Add(wait)), 50*time.Millisecond, fmt.Sprintf(`T.sides.caller.packets > %d || T.sides.callee.packets > %d`,
		cbefore["caller"].Packets+25, cbefore["callee"].Packets+25)); err == nil {
		t.Fatalf("control: audio came back after killing %s with expired credentials and no refresh: the relays did not enforce expiry or the page refreshed\nevents %+v", cdead.id, events(cctx, t))
	}
	var restarts, failed int
	for _, ev := range events(cctx, t) {
		switch ev.Type {
		case "restarting":
			restarts++
		case "error":
			failed++
		}
	}
	if restarts == 0 {
		t.Errorf("control: watch() never restarted after the kill, so the control proves nothing: events %+v", events(cctx, t))
	}
	cs := sides(cctx, t)
	t.Logf("control without refresh (%d failed refreshes), killed %s past expiry: %d restarts, no audio for %v (state caller %s, callee %s)",
		failed, cdead.id, restarts, wait, cs["caller"].State, cs["callee"].State)
}

// pastExpiry waits until the call's first credentials expired 2 s ago (at
// most 80 s from a call just started).
func pastExpiry(ctx context.Context, t *testing.T) {
	t.Helper()
	if err := poll(ctx, 80*time.Second, 500*time.Millisecond, `Date.now() > T.expiresAt + 2000`); err != nil {
		t.Fatalf("waiting for expiry: %v", err)
	}
}

// restartRun is the plain mode's failover: in a settled call, the relay
// carrying it is killed and watch() restarts ICE without it. It checks that
// audio comes back both ways over the other relay, and returns the gap (ms,
// worst direction) and, when cpu, the browser's CPU over the settled call
// (percent of a core).
func restartRun(t *testing.T, portBase int, cpu bool) (gap, cpuPct float64) {
	e := newEnv(t, envConfig{portBase: portBase})
	ctx := e.browser()
	before := startCall(ctx, t, `{watch: true}`)
	if p := eval[string](ctx, t, `T.config`); p != "relay" {
		t.Errorf("rtcConfiguration().iceTransportPolicy = %q, want relay", p)
	}
	dead := e.carrier(t, before)
	if cpu {
		cpuPct = e.cpuOver(ctx, t, idleWindow/2)
	}
	gap = e.killAndResume(ctx, t, dead)
	var restarts, recovered int
	for _, ev := range events(ctx, t) {
		switch ev.Type {
		case "restarting":
			restarts++
			if ex, _ := ev.Detail["excluded"].([]any); ev.Side == "caller" && (ev.Detail["relay"] != dead.id || len(ex) == 0) {
				t.Errorf("caller restarted leaving out %v (%v), want %s", ev.Detail["relay"], ex, dead.id)
			}
		case "recovered":
			recovered++
			t.Logf("%s recovered on %v, watch measured a %v ms gap", ev.Side, ev.Detail["relay"], ev.Detail["gapMs"])
		}
	}
	if restarts == 0 || restarts > 2 || recovered == 0 {
		t.Errorf("%d restarts and %d recoveries, want one restart per side at most and a recovery", restarts, recovered)
	}
	return gap, cpuPct
}

// killAndResume kills dead, the relay carrying a settled call, waits until
// audio is back both ways (15 s at most) and checks that both ends' selected
// pairs left it. It returns the gap, worst direction, in ms.
func (e *env) killAndResume(ctx context.Context, t *testing.T, dead *relay) float64 {
	t.Helper()
	eval[bool](ctx, t, `(resetGaps(), true)`)
	before := sides(ctx, t)
	dead.kill(t)
	killed := time.Now()
	if err := resumed(ctx, before, 15*time.Second); err != nil {
		t.Fatalf("audio did not resume both ways within 15s of killing %s: %v\nsides %+v\nevents %+v\nerrors %v", dead.id, err, sides(ctx, t), events(ctx, t), eval[[]string](ctx, t, `T.errors`))
	}
	after := sides(ctx, t)
	gap := max(after["caller"].MaxGap, after["callee"].MaxGap)
	t.Logf("killed %s: audio back both ways after %v; gap caller<-callee %.0f ms, callee<-caller %.0f ms, max %.0f ms",
		dead.id, time.Since(killed).Round(10*time.Millisecond), after["caller"].MaxGap, after["callee"].MaxGap, gap)
	e.leftRelay(ctx, t, dead)
	if errs := eval[[]string](ctx, t, `T.errors`); len(errs) > 0 {
		t.Errorf("page errors: %v", errs)
	}
	return gap
}

// leftRelay waits until both ends' selected pairs are on a relay other than gone.
func (e *env) leftRelay(ctx context.Context, t *testing.T, gone *relay) {
	t.Helper()
	testenv.Eventually(t, "both ends off "+gone.id, 10*time.Second, 100*time.Millisecond, func() error {
		for name, sd := range sides(ctx, t) {
			if sd.Pair == nil {
				return fmt.Errorf("%s has no selected pair", name)
			}
			if r := e.relayOf(sd.Pair.LocalPort); r == nil || r == gone {
				return fmt.Errorf("%s still on port %d of %s", name, sd.Pair.LocalPort, gone.id)
			}
		}
		return nil
	})
}
