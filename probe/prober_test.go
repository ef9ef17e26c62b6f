package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// Inside a synctest bubble time.Sleep advances the fake clock at once; the
// tests below use it to step time, never to wait for real events.

// bubble runs a Prober on an in-memory network inside a synctest bubble.
type bubble struct {
	t    *testing.T
	net  *memNet
	p    *Prober
	stop func()

	mu sync.Mutex
	// guards below
	targets []Target
	reports [][]Result
}

func newBubble(t *testing.T, cfg Config) *bubble {
	b := &bubble{t: t, net: newMemNet()}
	cfg.Listen = b.net.listen
	p, err := New(cfg, b.currentTargets, b.record, nil)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	b.p = p
	return b
}

func (b *bubble) currentTargets() []Target {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Target(nil), b.targets...)
}

func (b *bubble) setTargets(ts ...Target) {
	b.mu.Lock()
	b.targets = ts
	b.mu.Unlock()
}

func (b *bubble) record(rs []Result) {
	b.mu.Lock()
	b.reports = append(b.reports, rs)
	b.mu.Unlock()
}

// responder starts an answering responder on a fresh in-memory address.
func (b *bubble) responder() *responder {
	c, err := b.net.listen("udp4")
	if err != nil {
		b.t.Fatal(err)
	}
	return startResponder(b.t, c, answer)
}

// run starts p.Run; the returned func cancels it and checks it returned nil.
func (b *bubble) run() {
	ctx, cancel := context.WithCancel(b.t.Context())
	done := make(chan error, 1)
	go func() { done <- b.p.Run(ctx) }()
	b.stop = func() {
		cancel()
		if err := <-done; err != nil {
			b.t.Errorf("Run() = %v, want nil", err)
		}
	}
}

func (b *bubble) result(id string) (Result, bool) {
	for _, r := range b.p.Results() {
		if r.RelayID == id {
			return r, true
		}
	}
	return Result{}, false
}

// healthSeq is the sequence of distinct health states reported for id.
func (b *bubble) healthSeq(id string) []Health {
	b.mu.Lock()
	defer b.mu.Unlock()
	var seq []Health
	for _, batch := range b.reports {
		for _, r := range batch {
			if r.RelayID == id && (len(seq) == 0 || seq[len(seq)-1] != r.Health) {
				seq = append(seq, r.Health)
			}
		}
	}
	return seq
}

func TestSpreadOverInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const relays, perResponder = 1000, 100
		b := newBubble(t, Config{Interval: time.Second, Timeout: 100 * time.Millisecond})
		var rs []*responder
		var ts []Target
		for i := range relays {
			if i%perResponder == 0 {
				rs = append(rs, b.responder())
			}
			ts = append(ts, Target{RelayID: fmt.Sprintf("relay-%04d", i), Addr: rs[len(rs)-1].addr()})
		}
		b.setTargets(ts...)
		start := time.Now()
		b.run()
		time.Sleep(3500 * time.Millisecond)
		b.stop()

		// Every relay has its first probe within the first interval, then one
		// per interval: [1s, 3s) holds exactly two rounds, spread evenly.
		const buckets = 20
		var counts [buckets]int
		total := 0
		for _, r := range rs {
			for _, at := range r.arrivalTimes() {
				if d := at.Sub(start); d >= time.Second && d < 3*time.Second {
					counts[int((d-time.Second)*buckets/(2*time.Second))]++
					total++
				}
			}
		}
		if total != 2*relays {
			t.Errorf("probes in [1s,3s) = %d, want %d", total, 2*relays)
		}
		want := 2 * relays / buckets
		for i, n := range counts {
			if n < want/2 || n > want*3/2 {
				t.Errorf("bucket %d of %d holds %d probes, want about %d (counts %v)", i, buckets, n, want, counts)
				break
			}
		}
		res := b.p.Results()
		if len(res) != relays {
			t.Fatalf("Results() has %d relays, want %d", len(res), relays)
		}
		for _, r := range res {
			if r.Health != HealthUp || r.Loss != 0 || r.Received < 3 {
				t.Fatalf("Results() has %+v, want up, no loss, >= 3 answers", r)
			}
		}
	})
}

func TestDownAndBackWithHysteresis(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{Interval: time.Second, Timeout: 100 * time.Millisecond}
		b := newBubble(t, cfg)
		r := b.responder()
		b.setTargets(Target{RelayID: "fra-1", Addr: r.addr()})
		b.run()
		defer b.stop()

		time.Sleep(3 * time.Second)
		if got, _ := b.result("fra-1"); got.Health != HealthUp {
			t.Fatalf("after 3s: %+v, want up", got)
		}

		r.dropNext.Store(1) // one lost probe: retried at once, never flaps
		time.Sleep(2 * time.Second)
		if got, _ := b.result("fra-1"); got.Health != HealthUp || got.Sent-got.Received != 1 {
			t.Fatalf("after one loss: %+v, want up with one loss", got)
		}

		r.mode.Store(silent)
		silentAt := time.Now()
		// Within one interval the next probe misses; the retries right after
		// each timeout make it down after DownAfter timeouts.
		bound := cfg.Interval + 3*(cfg.Timeout+timeoutSlack)
		for !isDown(b) {
			if time.Since(silentAt) > bound {
				t.Fatalf("not down %v after the relay went silent", bound)
			}
			time.Sleep(10 * time.Millisecond)
		}

		r.mode.Store(answer)
		time.Sleep(cfg.Interval + 10*time.Millisecond) // one answer: still down
		if !isDown(b) {
			t.Fatalf("up again after one answer, want down until UpAfter answers")
		}
		time.Sleep(cfg.Interval)
		got, _ := b.result("fra-1")
		if got.Health != HealthDegraded { // the misses are still in the window
			t.Fatalf("after two answers: %+v, want degraded", got)
		}
		time.Sleep(2 * time.Second)
		// Reported: up, perhaps degraded for the moment between the second
		// and third miss, down once, then degraded (never straight up).
		seq := b.healthSeq("fra-1")
		if len(seq) < 3 || seq[0] != HealthUp || seq[len(seq)-2] != HealthDown || seq[len(seq)-1] != HealthDegraded ||
			slices.Index(seq, HealthDown) != len(seq)-2 {
			t.Errorf("reported health = %v, want up, [degraded,] down, degraded", seq)
		}
	})
}

func isDown(b *bubble) bool {
	r, ok := b.result("fra-1")
	return ok && r.Health == HealthDown
}

func TestTargetsChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t, Config{Interval: time.Second, Timeout: 100 * time.Millisecond})
		r1, r2 := b.responder(), b.responder()
		b.setTargets(Target{RelayID: "a", Addr: r1.addr()}, Target{RelayID: "b", Addr: r1.addr()})
		b.run()
		defer b.stop()

		time.Sleep(2500 * time.Millisecond)
		if got := ids(b.p.Results()); got != "[a b]" {
			t.Fatalf("Results() = %v, want [a b]", got)
		}
		before, _ := b.result("a")

		// b leaves, c arrives, a moves to another address.
		b.setTargets(Target{RelayID: "a", Addr: r2.addr()}, Target{RelayID: "c", Addr: r2.addr()})
		time.Sleep(1100 * time.Millisecond) // the list is read every second; c's first slot is within the next interval
		if got := ids(b.p.Results()); got != "[a c]" {
			t.Fatalf("Results() = %v, want [a c]", got)
		}
		after, _ := b.result("a")
		if after.Addr != r2.addr() || after.Sent >= before.Sent {
			t.Errorf("moved relay: %+v, want new address and fresh window (before: %+v)", after, before)
		}
		n1 := r1.requests.Load()
		time.Sleep(3 * time.Second)
		if got := r1.requests.Load(); got != n1 {
			t.Errorf("old address got %d more probes after its relays left", got-n1)
		}
	})
}

func TestSlowReportCoalesces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newMemNet()
		c, _ := n.listen("udp4")
		r := startResponder(t, c, answer)
		release := make(chan struct{})
		var mu sync.Mutex
		var batches [][]Result
		report := func(rs []Result) {
			mu.Lock()
			batches = append(batches, rs)
			first := len(batches) == 1
			mu.Unlock()
			if first {
				<-release // the first report is stuck
			}
		}
		ts := []Target{{RelayID: "a", Addr: r.addr()}, {RelayID: "b", Addr: r.addr()}}
		p, err := New(Config{Interval: 200 * time.Millisecond, Timeout: 50 * time.Millisecond, Listen: n.listen},
			func() []Target { return ts }, report, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()

		time.Sleep(3 * time.Second)
		if got := r.requests.Load(); got < 2*14 {
			t.Errorf("probes while report is stuck = %d, want >= 28", got)
		}
		if res := p.Results(); len(res) != 2 || res[0].Received < 10 {
			t.Errorf("Results() while report is stuck = %+v, want fresh", res)
		}
		close(release)
		time.Sleep(300 * time.Millisecond)
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(batches) != 2 {
			t.Fatalf("report calls = %d, want 2 (one stuck, one coalesced)", len(batches))
		}
		if got := ids(batches[1]); got != "[a b]" {
			t.Errorf("coalesced batch = %v, want each relay once: [a b]", got)
		}
	})
}

func TestReportAtMostOncePerSecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t, Config{Interval: 50 * time.Millisecond, Timeout: 10 * time.Millisecond})
		r := b.responder()
		b.setTargets(Target{RelayID: "a", Addr: r.addr()}, Target{RelayID: "b", Addr: r.addr()})
		b.run()
		time.Sleep(10*time.Second + time.Millisecond)
		b.stop()
		b.mu.Lock()
		defer b.mu.Unlock()
		if len(b.reports) != 10 {
			t.Errorf("report calls in 10s = %d, want 10", len(b.reports))
		}
		if r.requests.Load() < 2*190 {
			t.Errorf("probes in 10s = %d, want about 400", r.requests.Load())
		}
	})
}

func TestListenFailureMeansDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls int
		listen := func(string) (net.PacketConn, error) { calls++; return nil, errors.New("no sockets today") }
		p, err := New(Config{Interval: time.Second, Timeout: 100 * time.Millisecond, Listen: listen},
			func() []Target { return []Target{{RelayID: "a", Addr: mustAddrPort("127.0.0.1:3478")}} }, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if err := p.Run(ctx); err != nil {
			t.Fatalf("Run() = %v", err)
		}
		if res := p.Results(); len(res) != 1 || res[0].Health != HealthDown {
			t.Errorf("Results() = %+v, want a down", res)
		}
		if calls > 11 {
			t.Errorf("listen attempts in 10s = %d, want at most one per interval", calls)
		}
	})
}

func TestRunOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := New(Config{}, func() []Target { return nil }, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := p.Run(ctx); err != nil {
			t.Fatalf("first Run() = %v", err)
		}
		if err := p.Run(ctx); !errors.Is(err, ErrReused) {
			t.Errorf("second Run() = %v, want ErrReused", err)
		}
	})
}

func TestSkipsInvalidAndDuplicateTargets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t, Config{Interval: time.Second, Timeout: 100 * time.Millisecond})
		r := b.responder()
		b.setTargets(Target{RelayID: "a", Addr: r.addr()}, Target{RelayID: "a", Addr: mustAddrPort("127.0.0.9:1")},
			Target{RelayID: "noport", Addr: mustAddrPort("127.0.0.1:0")}, Target{RelayID: "zero"})
		b.run()
		time.Sleep(3 * time.Second)
		b.stop()
		res := b.p.Results()
		if len(res) != 1 || res[0].Addr != r.addr() || res[0].Health != HealthUp || res[0].Sent != 3 {
			t.Errorf("Results() = %+v, want only a at its first address, up, 3 probes", res)
		}
	})
}

func ids(rs []Result) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.RelayID)
	}
	return fmt.Sprint(s)
}

// TestLogsHealthChanges: each change of a relay's reported health is
// logged once, with the relay id and both states (a relay's first health
// at Debug, going down at Warn, the rest at Info), and rounds that change
// nothing log nothing; durations are logged as strings.
func TestLogsHealthChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{Interval: time.Second, Timeout: 100 * time.Millisecond}
		b := newBubble(t, cfg)
		var logs bytes.Buffer
		b.p.log = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		r := b.responder()
		b.setTargets(Target{RelayID: "fra-1", Addr: r.addr()})
		b.run()
		time.Sleep(5 * time.Second)
		r.mode.Store(silent)
		time.Sleep(5 * time.Second)
		r.mode.Store(answer)
		time.Sleep(30 * time.Second) // back up, and many unchanged rounds
		b.stop()

		var want []string // from the reports, the transitions they show
		prev := Health("unknown")
		for _, h := range b.healthSeq("fra-1") {
			if h != prev {
				want = append(want, string(prev)+">"+string(h))
				prev = h
			}
		}
		var got []string
		levels := map[string]string{}
		for line := range strings.Lines(logs.String()) {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("log line %q: %v", line, err)
			}
			switch m["msg"] {
			case "relay health changed":
				if m["relay_id"] != "fra-1" {
					t.Errorf("health line %v: want relay_id fra-1", m)
				}
				tr := fmt.Sprint(m["from"], ">", m["to"])
				got = append(got, tr)
				levels[tr] = fmt.Sprint(m["level"])
			case "prober started":
				if m["interval"] != "1s" || m["timeout"] != "100ms" {
					t.Errorf("prober started %v: want interval 1s, timeout 100ms", m)
				}
			}
		}
		if !slices.Equal(got, want) || len(got) < 3 || got[0] != "unknown>up" {
			t.Fatalf("logged transitions %v, want those reported: %v", got, want)
		}
		for tr, lvl := range levels {
			wantLvl := "INFO"
			switch {
			case strings.HasPrefix(tr, "unknown>"):
				wantLvl = "DEBUG"
			case strings.HasSuffix(tr, ">down"):
				wantLvl = "WARN"
			}
			if lvl != wantLvl {
				t.Errorf("transition %s logged at %s, want %s", tr, lvl, wantLvl)
			}
		}
	})
}
