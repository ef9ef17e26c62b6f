package browser

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// standbySide is what standbyStats() reports about one side's standby connection.
type standbySide struct {
	State           string  `json:"state"`
	BytesSent       float64 `json:"bytesSent"`
	BytesReceived   float64 `json:"bytesReceived"`
	STUNSent        float64 `json:"stunSent"`
	STUNReceived    float64 `json:"stunReceived"`
	RelayCandidates int     `json:"relayCandidates"`
	LocalPort       int     `json:"localPort"`
	RTPSent         float64 `json:"rtpSent"`
}

// idleWindow is how long the idle standby's traffic and CPU are measured.
const idleWindow = 10 * time.Second

// standbyOpts starts a call in relaygate.js's warm standby mode, asking
// about its relays' drain every second.
const standbyOpts = `{watch: true, standby: true, drainMs: 1000}`

// startStandbyCall starts a call in warm standby mode, waits until it is
// settled and both ends' standbys are connected, and returns the relay
// carrying the call and the one the standbys are on.
func (e *env) startStandbyCall(ctx context.Context, t *testing.T, opts string) (carrier, backup *relay) {
	t.Helper()
	carrier = e.carrier(t, startCall(ctx, t, opts))
	if err := poll(ctx, 30*time.Second, 100*time.Millisecond, `T.standby.caller && T.standby.caller.pc.connectionState === 'connected' && T.standby.callee.pc.connectionState === 'connected'`); err != nil {
		t.Fatalf("standby did not connect within 30s: %v; events %+v; errors %v", err, events(ctx, t), eval[[]string](ctx, t, `T.errors`))
	}
	st := eval[map[string]standbySide](ctx, t, `standbyStats()`)
	for name, sd := range st {
		r := e.relayOf(sd.LocalPort)
		if r == nil || r == carrier {
			t.Fatalf("%s's standby is on port %d, want on the relay not carrying the call (%s)", name, sd.LocalPort, carrier.id)
		}
		backup = r
	}
	return carrier, backup
}

// switches are the 'switched' events so far, as "side:reason".
func switches(ctx context.Context, t *testing.T) []string {
	t.Helper()
	var out []string
	for _, ev := range events(ctx, t) {
		if ev.Type == "switched" {
			out = append(out, fmt.Sprintf("%s:%v", ev.Side, ev.Detail["reason"]))
		}
	}
	return out
}

// standbyRun is relaygate.js's warm standby mode: the call's two ends keep
// a second connection pair, negotiated by the page through standby() and
// standbyConnection(), idle through only the relay not carrying the call;
// when the carrying relay is killed, watch() moves the audio onto it with
// replaceTrack. When plainCPU > 0 it measures what the idle standby costs
// (allocations, bytes/s, STUN checks/s, browser CPU against plainCPU, the
// plain mode's). It returns the gap (ms, worst direction).
func standbyRun(t *testing.T, portBase int, plainCPU float64) float64 {
	e := newEnv(t, envConfig{portBase: portBase})
	ctx := e.browser()
	dead, backup := e.startStandbyCall(ctx, t, standbyOpts)

	if plainCPU > 0 {
		s0 := eval[map[string]standbySide](ctx, t, `standbyStats()`)
		t0 := time.Now()
		cpu := e.cpuOver(ctx, t, idleWindow)
		s1 := eval[map[string]standbySide](ctx, t, `standbyStats()`)
		secs := time.Since(t0).Seconds()
		// A stall on a loaded machine (300 ms without packets) switches to
		// the standby, which then carries RTP, rightly: idle is checked only
		// while nothing switched.
		idle := len(switches(ctx, t)) == 0
		allocations := 0
		for name, sd := range s1 {
			allocations += sd.RelayCandidates
			if idle && sd.RTPSent != 0 {
				t.Errorf("%s's idle standby sent %v RTP packets, want none", name, sd.RTPSent)
			}
			t.Logf("idle standby %s: %d relay allocation(s) on %s; sent %.0f B/s, received %.0f B/s (DTLS/RTCP payload per getStats transport); STUN checks sent+answered %.2f/s, received %.2f/s",
				name, sd.RelayCandidates, backup.id, (sd.BytesSent-s0[name].BytesSent)/secs, (sd.BytesReceived-s0[name].BytesReceived)/secs,
				(sd.STUNSent-s0[name].STUNSent)/secs, (sd.STUNReceived-s0[name].STUNReceived)/secs)
		}
		t.Logf("idle standby cost: %d extra relay allocations for the call; browser CPU %.1f %% of a core with it vs %.1f %% for a plain-mode call",
			allocations, cpu, plainCPU)
		if !idle {
			t.Logf("switched to the standby before the kill (a stall under load): %v", switches(ctx, t))
			t.Skip("the call switched before the kill; this run cannot measure the kill's gap")
		}
	}

	gap := e.killAndResume(ctx, t, dead)
	sw := switches(ctx, t)
	if len(sw) == 0 {
		t.Errorf("no switch to the standby: events %+v", events(ctx, t))
	}
	for _, ev := range events(ctx, t) {
		if ev.Type == "restarting" {
			t.Errorf("%s restarted ICE instead of switching to its standby", ev.Side)
		}
	}
	t.Logf("warm standby on %s: switches %v", backup.id, sw)
	return gap
}

// cpuOver measures the CPU the browser (its process and all descendants)
// used over d, in percent of one core.
func (e *env) cpuOver(ctx context.Context, t *testing.T, d time.Duration) float64 {
	t.Helper()
	pid := chromedp.FromContext(ctx).Browser.Process().Pid
	c0, t0 := treeCPU(pid), time.Now()
	time.Sleep(d) // the measurement window itself: CPU over real time, not a wait for some state
	c1 := treeCPU(pid)
	return 100 * (c1 - c0) / time.Since(t0).Seconds()
}

// treeCPU is the user+system CPU seconds of pid and its descendants, from
// /proc (clock ticks at the usual 100 Hz).
func treeCPU(pid int) float64 {
	parent := map[int]int{}
	ticks := map[int]float64{}
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fs := strings.Fields(s[i+1:]) // state ppid ... utime(12) stime(13)
		if len(fs) < 14 {
			continue
		}
		p, _ := strconv.Atoi(strings.Fields(s)[0])
		pp, _ := strconv.Atoi(fs[1])
		u, _ := strconv.ParseFloat(fs[11], 64)
		st, _ := strconv.ParseFloat(fs[12], 64)
		parent[p] = pp
		ticks[p] = u + st
	}
	var total float64
	for p, tk := range ticks {
		for q := p; q > 1; q = parent[q] {
			if q == pid {
				total += tk
				break
			}
		}
	}
	return total / 100
}
