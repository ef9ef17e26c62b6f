package browser

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/wire"
)

// drainTimeout is the relays' --drain-timeout in the drain tests: far
// longer than a move takes, so a relay that exits well before it waited
// for its calls to leave rather than for the timeout.
const drainTimeout = 90 * time.Second

// How a relay is drained.
const (
	drainMark    = "operator mark" // POST /v1/relays/{id}/drain
	drainSIGTERM = "SIGTERM"       // relaynode's own drain on shutdown
	// drainRefresh is the operator's mark with the page's drain poll off:
	// the credential refresh (at 80 % of a 60 s lifetime) that no longer
	// offers the relay is what makes relaygate.js ask about it.
	drainRefresh = "operator mark, seen on credential refresh"
)

// TestDrain: in relaygate.js's warm standby mode, a relay drained mid-call
// (by the operator's mark, or by SIGTERM; with the drain poll off, the
// next credential refresh tells) loses its calls before it goes:
// the gateway says leave on GET /v1/call-relays, each end moves its audio
// onto its standby on the other relay while the draining one still carries
// the media, and closes its connection through the draining relay, whose
// allocations end (on SIGTERM, relaynode then exits long before its drain
// timeout). Received audio has no gap beyond the same call's normal jitter.
func TestDrain(t *testing.T) {
	requireChromium(t)
	t.Parallel()
	for _, c := range []struct {
		how      string
		portBase int
	}{{drainMark, 53000}, {drainSIGTERM, 55000}, {drainRefresh, 65000}} {
		t.Run(c.how, func(t *testing.T) {
			t.Parallel()
			gap, jitter := drainRun(t, c.portBase, c.how)
			if limit := jitterLimit(jitter); gap > limit {
				t.Errorf("drain gap %.0f ms, want at most %.0f ms (the call's normal jitter and its margin)", gap, limit)
			}
		})
	}
}

// jitterLimit is the longest gap normal jitter explains: twice the longest
// steady-state inter-arrival of the same call (steadyJitter), plus 150 ms
// (three sampling periods) of margin for a loaded machine, whose bursts
// slow the page's sampling as much as the audio. A move through an ICE
// restart (seconds) exceeds it; one that waited for a stall to be detected
// would also emit 'stalled', which drainRun rejects on its own.
func jitterLimit(jitter float64) float64 { return 2*jitter + 150 }

// drainRun drains the relay carrying a settled warm-standby call, how, and
// checks the call moves off it and the relay's drain sees it leave. It
// returns the drain's gap and the call's steady-state jitter measured
// before it (ms, worst direction).
func drainRun(t *testing.T, portBase int, how string) (gap, jitter float64) {
	e := newEnv(t, envConfig{portBase: portBase, drainTimeout: drainTimeout})
	ctx := e.browser()
	opts := standbyOpts
	if how == drainRefresh {
		opts = `{watch: true, standby: true, drainMs: 0, ttl: 60}`
	}
	carrier, backup := e.startStandbyCall(ctx, t, opts)

	jitter = e.steadyJitter(ctx, t)
	eval[bool](ctx, t, `(resetGaps(), true)`)
	before := sides(ctx, t)
	pageDrained := eval[float64](ctx, t, `performance.now()`)
	drained := time.Now()
	switch how {
	case drainMark, drainRefresh:
		if err := e.api(http.MethodPost, "/v1/relays/"+carrier.id+"/drain", e.admin, nil); err != nil {
			t.Fatal(err)
		}
	case drainSIGTERM:
		if err := carrier.proc.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	if how == drainRefresh { // no poll: the move waits for the refresh, at most 48 s after the call's credentials
		if err := poll(ctx, 75*time.Second, 200*time.Millisecond, `T.events.some((e) => e.type === 'draining')`); err != nil {
			t.Fatalf("no 'draining' after the refresh: %v; events %+v", err, events(ctx, t))
		}
	}
	e.leftRelay(ctx, t, carrier)
	moved := time.Since(drained)

	// The relay's drain sees the call leave: its allocations end.
	switch how {
	case drainMark, drainRefresh:
		testenv.Eventually(t, carrier.id+"'s allocations gone", 30*time.Second, 250*time.Millisecond, func() error {
			var st wire.RelayStatus
			if err := e.api(http.MethodGet, "/v1/relays/"+carrier.id, e.admin, &st); err != nil {
				return err
			}
			if !st.Drained || st.Load.Allocations != 0 {
				return fmt.Errorf("drained %v, %d allocations", st.Drained, st.Load.Allocations)
			}
			return nil
		})
	case drainSIGTERM:
		select {
		case <-carrier.proc.Done():
		case <-time.After(drainTimeout):
			t.Fatalf("%s did not exit within its %v drain timeout after SIGTERM", carrier.id, drainTimeout)
		}
		if took := time.Since(drained); took > drainTimeout*2/3 {
			t.Errorf("%s exited %v after SIGTERM, want well before its %v drain timeout: its calls did not leave", carrier.id, took, drainTimeout)
		}
	}
	gone := time.Since(drained)

	// A further second of audio both ways after the relay's allocations ended.
	if err := resumed(ctx, sides(ctx, t), 15*time.Second); err != nil {
		t.Fatalf("no audio after %s's drain: %v; events %+v", carrier.id, err, events(ctx, t))
	}
	after := sides(ctx, t)
	gap = max(after["caller"].MaxGap, after["callee"].MaxGap)
	sw := switches(ctx, t)
	t.Logf("%s of %s: both ends on %s after %v, its allocations gone after %v; gap caller %.0f ms, callee %.0f ms (steady-state jitter %.0f ms, limit %.0f ms); switches %v; %d+%d packets",
		how, carrier.id, backup.id, moved.Round(10*time.Millisecond), gone.Round(10*time.Millisecond), after["caller"].MaxGap, after["callee"].MaxGap,
		jitter, jitterLimit(jitter), sw, after["caller"].Packets-before["caller"].Packets, after["callee"].Packets-before["callee"].Packets)
	if !slices.ContainsFunc(sw, func(s string) bool { return s == "caller:draining" || s == "callee:draining" }) {
		t.Errorf("no end switched on 'draining': switches %v, events %+v", sw, events(ctx, t))
	}
	for _, ev := range events(ctx, t) {
		if ev.T >= pageDrained && (ev.Type == "restarting" || ev.Type == "stalled") {
			t.Errorf("%s: %s during the drain (%v): the move was not make-before-break", ev.Side, ev.Type, ev.Detail)
		}
	}
	if errs := eval[[]string](ctx, t, `T.errors`); len(errs) > 0 {
		t.Errorf("page errors: %v", errs)
	}
	return gap, jitter
}

// steadyWindow is how long a call's normal jitter is measured.
const steadyWindow = 8 * time.Second

// steadyJitter measures the call as it is over steadyWindow and returns
// the longest time between two samples that saw packets arrive (ms, both
// directions): the sampling period plus the jitter of the browser, the
// relays and the machine's load.
func (e *env) steadyJitter(ctx context.Context, t *testing.T) float64 {
	t.Helper()
	eval[bool](ctx, t, `(resetGaps(), true)`)
	n := int(steadyWindow / (20 * time.Millisecond))
	s := sides(ctx, t)
	if err := poll(ctx, steadyWindow+15*time.Second, 100*time.Millisecond, fmt.Sprintf(`T.sides.caller.packets > %d && T.sides.callee.packets > %d`,
		s["caller"].Packets+n, s["callee"].Packets+n)); err != nil {
		t.Fatalf("call did not run for %v: %v", steadyWindow, err)
	}
	if sw := switches(ctx, t); len(sw) > 0 {
		t.Skipf("the call switched to its standby before the drain (a stall under load): %v; this run cannot measure the drain", sw)
	}
	s = sides(ctx, t)
	return max(s["caller"].MaxGap, s["callee"].MaxGap)
}
