package browser

import (
	"context"
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

// warmStandby is the warm-standby experiment of issue 6 (test page only,
// not relaygate.js): next to a settled call, a second connection pair
// through only the relay not carrying the call, connected and idle; when
// watch() reports the stall after the carrying relay is killed, each side
// moves its audio onto the standby with replaceTrack. It measures what the
// idle standby costs (allocations, bytes/s, STUN checks/s, browser CPU) and
// the gap, which must be below plainGap, the plain ICE restart's.
func warmStandby(t *testing.T, plainGap float64) {
	e := newEnv(t, envConfig{portBase: 47000})
	ctx := e.browser()
	before := startCall(ctx, t, `{watch: true}`)
	dead := e.carrier(t, before)
	var backup *relay
	for _, r := range e.relays {
		if r != dead {
			backup = r
		}
	}

	// Browser CPU without the standby, then with it idle, over equal windows.
	cpuBase := e.cpuOver(ctx, t, idleWindow/2)
	if !eval[bool](ctx, t, `startStandby(`+strconv.Quote(backup.id)+`)`) {
		t.Fatal("startStandby failed")
	}
	if err := poll(ctx, 15*time.Second, 100*time.Millisecond, `T.standby.caller.pc.connectionState === 'connected' && T.standby.callee.pc.connectionState === 'connected'`); err != nil {
		t.Fatalf("standby did not connect within 15s: %v; %+v; errors %v", err, eval[map[string]standbySide](ctx, t, `standbyStats()`), eval[[]string](ctx, t, `T.errors`))
	}
	s0 := eval[map[string]standbySide](ctx, t, `standbyStats()`)
	t0 := time.Now()
	cpuStandby := e.cpuOver(ctx, t, idleWindow)
	s1 := eval[map[string]standbySide](ctx, t, `standbyStats()`)
	secs := time.Since(t0).Seconds()
	allocations := 0
	for name, sd := range s1 {
		allocations += sd.RelayCandidates
		if r := e.relayOf(sd.LocalPort); r != backup {
			t.Errorf("%s's standby is on port %d, want on %s", name, sd.LocalPort, backup.id)
		}
		if sd.RTPSent != 0 {
			t.Errorf("%s's idle standby sent %v RTP packets, want none", name, sd.RTPSent)
		}
		t.Logf("idle standby %s: %d relay allocation(s) on %s; sent %.0f B/s, received %.0f B/s (DTLS/RTCP payload per getStats transport); STUN checks sent+answered %.2f/s, received %.2f/s",
			name, sd.RelayCandidates, backup.id, (sd.BytesSent-s0[name].BytesSent)/secs, (sd.BytesReceived-s0[name].BytesReceived)/secs,
			(sd.STUNSent-s0[name].STUNSent)/secs, (sd.STUNReceived-s0[name].STUNReceived)/secs)
	}
	t.Logf("idle standby cost: %d extra relay allocations for the call; browser CPU %.1f %% of a core with it vs %.1f %% without (the call itself)",
		allocations, cpuStandby, cpuBase)

	eval[bool](ctx, t, `(resetGaps(), true)`)
	before = sides(ctx, t)
	dead.kill(t)
	killed := time.Now()
	if err := resumed(ctx, before, 15*time.Second); err != nil {
		t.Fatalf("audio did not resume both ways within 15s of killing %s: %v\nsides %+v\nevents %+v\nerrors %v", dead.id, err, sides(ctx, t), events(ctx, t), eval[[]string](ctx, t, `T.errors`))
	}
	after := sides(ctx, t)
	gap := max(after["caller"].MaxGap, after["callee"].MaxGap)
	t.Logf("warm standby: killed %s, audio back both ways over %s after %v; gap caller<-callee %.0f ms, callee<-caller %.0f ms, max %.0f ms (plain restart: %.0f ms)",
		dead.id, backup.id, time.Since(killed).Round(10*time.Millisecond), after["caller"].MaxGap, after["callee"].MaxGap, gap, plainGap)
	if errs := eval[[]string](ctx, t, `T.errors`); len(errs) > 0 {
		t.Errorf("page errors: %v", errs)
	}
	if plainGap == 0 {
		t.Fatal("no plain-restart gap to compare with (subtest \"with watch\" did not measure one)")
	}
	if gap >= plainGap {
		t.Errorf("warm standby gap %.0f ms, want below the plain restart's %.0f ms", gap, plainGap)
	}
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
