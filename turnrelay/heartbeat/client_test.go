package heartbeat

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/turnrelay/heartbeat/heartbeattest"
)

// hbConfig is a valid config for relay fra-1 with a gateway whose host
// heartbeattest's client answers.
func hbConfig() Config {
	return Config{GatewayURL: "http://gateway.test", NodeToken: "node-token-xyz", RelayID: "fra-1", Region: "eu-central",
		Site: "fra", Latitude: 50.11, Longitude: 8.68, Version: "0.1.0"}
}

// TestHeartbeatBackoff: failures back off exponentially with jitter, a
// success resets it, and the gateway's interval is obeyed.
func TestHeartbeatBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw := &heartbeattest.Gateway{Answers: []int{503, 503, 503, 200}}
		cfg := hbConfig()
		cfg.HTTPClient = gw.Client()
		cfg.Rand = func() float64 { return 0.5 } // 75% of each backoff step
		h := mustNew(t, cfg, Node{}, func() Status { return Status{} })
		start := time.Now()
		testenv.RunUntilCleanup(t, "Run", h.Run)
		time.Sleep(30 * time.Second) // fake time inside the bubble
		synctest.Wait()
		var offs []time.Duration
		for _, p := range gw.Puts() {
			offs = append(offs, p.At.Sub(start))
		}
		// 0; +0.75s (1s step); +1.5s (2s); +3s (4s) = success; then +7s, +7s...
		want := []time.Duration{0, 750 * time.Millisecond, 2250 * time.Millisecond, 5250 * time.Millisecond,
			12250 * time.Millisecond, 19250 * time.Millisecond, 26250 * time.Millisecond}
		if len(offs) != len(want) {
			t.Fatalf("heartbeats at %v, want %v", offs, want)
		}
		for i := range want {
			if offs[i] != want[i] {
				t.Fatalf("heartbeats at %v, want %v", offs, want)
			}
		}
	})
}

// TestHeartbeatKick: draining is reported at once, not at the next tick,
// and a gateway that never answers does not block the caller.
func TestHeartbeatKick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw := &heartbeattest.Gateway{}
		cfg := hbConfig()
		cfg.HTTPClient = gw.Client()
		var draining bool
		var mu sync.Mutex
		status := func() Status {
			mu.Lock()
			defer mu.Unlock()
			return Status{Draining: draining}
		}
		h := mustNew(t, cfg, Node{}, status)
		testenv.RunUntilCleanup(t, "Run", h.Run)
		synctest.Wait()
		mu.Lock()
		draining = true
		mu.Unlock()
		h.Kick()
		synctest.Wait()
		puts := gw.Puts()
		if len(puts) != 2 || puts[1].Body["draining"] != true {
			t.Fatalf("heartbeats = %v, want a second one with draining at once", puts)
		}
	})
}

// TestRetryWithinInterval: a gateway that answers 503 (its store is down)
// is tried again at most one heartbeat interval later, at the Retry-After
// it gives when that is shorter, so the relay is registered again within
// an interval of the store's return; a gateway that does not answer at all
// is backed off from exponentially, past the interval.
func TestRetryWithinInterval(t *testing.T) {
	ms := func(d ...int) []time.Duration {
		out := make([]time.Duration, len(d))
		for i, v := range d {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		name       string
		answers    []int
		retryAfter string
		delay      time.Duration // each answer takes this long
		noAnswer   bool          // the gateway is unreachable
		want       []time.Duration
	}{
		// Backoff 0.75, 1.5, 3, then 6 and 12 capped at the 5 s interval;
		// success at 20.25 s, then the gateway's 7 s.
		{name: "503 without Retry-After: backoff capped at the interval", answers: []int{503, 503, 503, 503, 503, 503},
			want: ms(0, 750, 2250, 5250, 10250, 15250, 20250, 27250)},
		{name: "503 with Retry-After 2", answers: []int{503, 503, 503}, retryAfter: "2",
			want: ms(0, 2000, 4000, 6000, 13000, 20000, 27000)},
		// Waits count from the send: the cadence stays 2 s and then 7 s.
		{name: "a slow 503 keeps the cadence", answers: []int{503, 503, 503}, retryAfter: "2", delay: 1500 * time.Millisecond,
			want: ms(0, 2000, 4000, 6000, 13000, 20000, 27000)},
		{name: "Retry-After beyond the interval is capped at it", answers: []int{503, 503, 503}, retryAfter: "60",
			want: ms(0, 5000, 10000, 15000, 22000, 29000)},
		// The second refusal's date has passed: the 1.5 s backoff step.
		{name: "Retry-After as an HTTP-date", answers: []int{429, 429}, retryAfter: "Sat, 01 Jan 2000 00:00:03 GMT",
			want: ms(0, 3000, 4500, 11500, 18500, 25500)},
		{name: "no answer: exponential backoff past the interval", noAnswer: true,
			want: ms(0, 750, 2250, 5250, 11250, 23250)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				gw := &heartbeattest.Gateway{Answers: tt.answers, RetryAfter: tt.retryAfter, Delay: tt.delay}
				cfg := hbConfig()
				cfg.HTTPClient = gw.Client()
				cfg.Rand = func() float64 { return 0.5 } // 75% of each backoff step
				// The bubble's clock starts at 2000-01-01 00:00:00 UTC, which
				// the HTTP-date's Retry-After counts from.
				var mu sync.Mutex
				var tries []time.Time // arrivals at the unreachable gateway
				if tt.noAnswer {
					cfg.HTTPClient = &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
						mu.Lock()
						defer mu.Unlock()
						tries = append(tries, time.Now())
						return nil, errors.New("connection refused")
					})}
				}
				h := mustNew(t, cfg, Node{}, func() Status { return Status{} })
				start := time.Now()
				testenv.RunUntilCleanup(t, "Run", h.Run)
				time.Sleep(tt.want[len(tt.want)-1] + time.Second) // fake time inside the bubble
				synctest.Wait()
				var offs []time.Duration
				for _, p := range gw.Puts() {
					offs = append(offs, p.At.Sub(start))
				}
				mu.Lock()
				for _, at := range tries {
					offs = append(offs, at.Sub(start))
				}
				mu.Unlock()
				if !slices.Equal(offs, tt.want) {
					t.Errorf("heartbeats at %v, want %v", offs, tt.want)
				}
			})
		})
	}
}

// roundTripFunc is an http.RoundTripper from a func.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestDrainMarkEchoed: the operator's drain mark from the gateway's answer
// is reasserted in every following heartbeat, and dropped once an answer
// clears it; each change is logged once.
func TestDrainMarkEchoed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw := &heartbeattest.Gateway{}
		var logs bytes.Buffer
		cfg := hbConfig()
		cfg.HTTPClient = gw.Client()
		h, err := New(cfg, Node{}, func() Status { return Status{} }, slog.New(slog.NewJSONHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		testenv.RunUntilCleanup(t, "Run", h.Run)
		synctest.Wait() // heartbeat 1 at 0s: not drained
		gw.SetDrained(true)
		time.Sleep(7 * time.Second) // heartbeat 2: its answer says drained
		synctest.Wait()
		time.Sleep(7 * time.Second) // heartbeats 3 and 4 reassert it
		synctest.Wait()
		time.Sleep(7 * time.Second)
		synctest.Wait()
		gw.SetDrained(false)        // the operator clears the mark
		time.Sleep(7 * time.Second) // heartbeat 5 still reasserts; its answer clears it
		synctest.Wait()
		time.Sleep(7 * time.Second) // heartbeat 6 does not
		synctest.Wait()
		var got []any
		for _, p := range gw.Puts() {
			got = append(got, p.Body["drained"])
		}
		want := []any{nil, nil, true, true, true, nil}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("drained in heartbeats = %v, want %v", got, want)
		}
		if n := strings.Count(logs.String(), `"msg":"operator drain mark"`); n != 2 {
			t.Errorf("logged %d drain mark changes, want 2:\n%s", n, logs.String())
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "5", "120", "18446744073709551616", "-1", "Sat, 01 Jan 2000 00:00:03 GMT", "soon"} {
		f.Add(s)
	}
	now := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if d := parseRetryAfter(s, now); d < 0 || d > maxInterval {
			t.Fatalf("parseRetryAfter(%q) = %v, want within [0, %v]", s, d, maxInterval)
		}
	})
}

func TestBackoffBounds(t *testing.T) {
	h := &Client{cfg: Config{MaxBackoff: 30 * time.Second, Rand: func() float64 { return 0.999 }}}
	for n := 1; n < 100; n++ {
		if d := h.backoff(n); d <= 0 || d > 30*time.Second {
			t.Fatalf("backoff(%d) = %v, want in (0, 30s]", n, d)
		}
	}
}

func mustNew(t *testing.T, cfg Config, node Node, status func() Status) *Client {
	t.Helper()
	c, err := New(cfg, node, status, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	return c
}

// TestBody: one heartbeat's JSON from the node's fixed facts and its
// status, ports keyed by transport name, unset fields omitted.
func TestBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw := &heartbeattest.Gateway{}
		cfg := hbConfig()
		cfg.HTTPClient = gw.Client()
		node := Node{
			Addresses: []netip.Addr{netip.MustParseAddr("203.0.113.5"), netip.MustParseAddr("2001:db8::5")},
			Ports:     relay.Ports{relay.UDP: 3478, relay.TLS: 5349}, MaxAllocations: 100, MaxBPS: 1e9,
		}
		h := mustNew(t, cfg, node, func() Status { return Status{Allocations: 3, BandwidthBPS: 4000, Draining: true} })
		testenv.RunUntilCleanup(t, "Run", h.Run)
		synctest.Wait()
		puts := gw.Puts()
		if len(puts) != 1 || puts[0].Request != "PUT /v1/relays/fra-1" || puts[0].Auth != "Bearer node-token-xyz" {
			t.Fatalf("requests = %+v, want one PUT /v1/relays/fra-1 with the token", puts)
		}
		got, _ := json.Marshal(puts[0].Body)
		want := `{"addresses":["203.0.113.5","2001:db8::5"],"capacity":{"allocations":100,"bandwidth_bps":1000000000},` +
			`"draining":true,"latitude":50.11,"load":{"allocations":3,"bandwidth_bps":4000},"longitude":8.68,` +
			`"ports":{"tls":5349,"udp":3478},"region":"eu-central","site":"fra","version":"0.1.0"}`
		if string(got) != want {
			t.Errorf("heartbeat body =\n%s\nwant\n%s", got, want)
		}
	})
}

// TestFailureLogs: a failing streak logs its first failure, then at most
// once per LogEvery on the injected clock, and never the node token.
func TestFailureLogs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw := &heartbeattest.Gateway{Answers: []int{503, 503, 503, 503, 503, 503}}
		var logs bytes.Buffer
		cfg := hbConfig()
		cfg.HTTPClient = gw.Client()
		cfg.Rand = func() float64 { return 0 } // backoffs 0.5s, 1s, 2s, 4s, 8s
		cfg.LogEvery = 5 * time.Second
		h, err := New(cfg, Node{}, func() Status { return Status{} }, slog.New(slog.NewJSONHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		testenv.RunUntilCleanup(t, "Run", h.Run)
		time.Sleep(16 * time.Second) // failures at 0, 0.5, 1.5, 3.5, 7.5, 15.5s
		synctest.Wait()
		// Logged: 0s (first), 7.5s (>= 5s after it), 15.5s (likewise).
		if n := strings.Count(logs.String(), `"msg":"heartbeat failed"`); n != 3 {
			t.Errorf("logged %d failures, want 3:\n%s", n, logs.String())
		}
		if !strings.Contains(logs.String(), "gateway answered 503 type https://relaygate.dev/problems/unavailable") {
			t.Errorf("logs lack the status and problem type:\n%s", logs.String())
		}
		if strings.Contains(logs.String(), "node-token-xyz") {
			t.Errorf("logs contain the node token:\n%s", logs.String())
		}
	})
}

// TestRegistrationLogs: the first accepted heartbeat is logged once, at
// Info, with the relay id and no token; the heartbeats after it are not;
// after refusals the first accepted one is logged again. A refusal logs the
// gateway's problem type and detail, with control characters made harmless.
func TestRegistrationLogs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw := &heartbeattest.Gateway{Answers: []int{200, 200, 200, 403, 403, 200, 200},
			Detail: "the node token's subject does not match the relay id\n{\"forged\":1}"}
		var logs bytes.Buffer
		cfg := hbConfig()
		cfg.HTTPClient = gw.Client()
		cfg.Rand = func() float64 { return 0 }
		h, err := New(cfg, Node{}, func() Status { return Status{} }, slog.New(slog.NewJSONHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		testenv.RunUntilCleanup(t, "Run", h.Run)
		time.Sleep(30 * time.Second) // fake time: ok at 0, 7, 14s; refused at 21, 21.5s; ok at 22.5, 29.5s
		synctest.Wait()
		if n := gw.Count(); n != 7 {
			t.Fatalf("%d heartbeats, want 7", n)
		}
		out := logs.String()
		var registered []map[string]any
		for line := range strings.Lines(out) {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("log line %q: %v", line, err)
			}
			if msg, _ := m["msg"].(string); strings.HasPrefix(msg, "registered with the gateway") {
				registered = append(registered, m)
			}
		}
		if len(registered) != 2 || registered[0]["msg"] != "registered with the gateway" ||
			registered[1]["msg"] != "registered with the gateway again" {
			t.Fatalf("registration lines = %v, want the first success and the one after the refusals:\n%s", registered, out)
		}
		for _, m := range registered {
			if m["level"] != "INFO" || m["relay_id"] != "fra-1" || m["heartbeat_interval"] != "7s" {
				t.Errorf("registration line %v: want INFO, relay_id fra-1, heartbeat_interval 7s", m)
			}
		}
		if registered[1]["failed_attempts"] != 2.0 {
			t.Errorf("re-registration line %v: want failed_attempts 2", registered[1])
		}
		want := `gateway answered 403 type https://relaygate.dev/problems/unavailable: the node token's subject does not match the relay id {\"forged\":1}`
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %s:\n%s", want, out)
		}
		if strings.Contains(out, "node-token-xyz") {
			t.Errorf("logs contain the node token:\n%s", out)
		}
	})
}

func TestPrintable(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"plain", 10, "plain"},
		{"a\r\nb\x00c", 10, "a  b c"},
		{"héllo", 2, "h…"}, // not inside é
		{"bad \xff utf8", 20, "bad ? utf8"},
	} {
		if got := printable(tt.in, tt.n); got != tt.want {
			t.Errorf("printable(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	status := func() Status { return Status{} }
	log := slog.New(slog.DiscardHandler)
	bad := hbConfig()
	bad.NodeToken = ""
	for name, tt := range map[string]struct {
		cfg    Config
		status func() Status
	}{
		"no gateway url":  {cfg: Config{}, status: status},
		"invalid config":  {cfg: bad, status: status},
		"nil status func": {cfg: hbConfig()},
	} {
		if _, err := New(tt.cfg, Node{}, tt.status, log); err == nil {
			t.Errorf("%s: New() error = nil", name)
		}
	}
}

// TestStats: failures count up and make a streak; an accepted heartbeat
// ends the streak.
func TestStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw := &heartbeattest.Gateway{Answers: []int{503, 503, 503, 200}}
		cfg := hbConfig()
		cfg.HTTPClient = gw.Client()
		cfg.Rand = func() float64 { return 0.5 }
		h := mustNew(t, cfg, Node{}, func() Status { return Status{} })
		if got := h.Stats(); got != (Stats{}) {
			t.Errorf("Stats() before Run = %+v, want zero", got)
		}
		testenv.RunUntilCleanup(t, "Run", h.Run)
		time.Sleep(3 * time.Second) // fake time: heartbeats at 0, 0.75s, 2.25s fail
		synctest.Wait()
		if got, want := h.Stats(), (Stats{Failed: 3, ConsecutiveFailures: 3}); got != want {
			t.Errorf("Stats() after three failures = %+v, want %+v", got, want)
		}
		time.Sleep(10 * time.Second) // 5.25s succeeds, then every 7s... (12.25s)
		synctest.Wait()
		if got, want := h.Stats(), (Stats{OK: 2, Failed: 3}); got != want {
			t.Errorf("Stats() after success = %+v, want %+v", got, want)
		}
	})
}

// reports is a usage source that makes report n+1 once report n is
// acknowledged, and records the acknowledgements.
type reports struct {
	mu    sync.Mutex
	seq   uint64
	acked []uint64
}

func (r *reports) Report() *relay.UsageReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	return &relay.UsageReport{Epoch: "e1", Seq: r.seq + 1, Entries: []relay.UsageEntry{
		{Pseudonym: "p", Usage: relay.Usage{BytesToPeer: r.seq + 1, AllocationTime: 1500 * time.Millisecond}}}}
}

func (r *reports) Ack(seq uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.acked = append(r.acked, seq)
	if seq == r.seq+1 {
		r.seq++
	}
}

// TestUsageReportedUntilAcknowledged: every heartbeat carries the usage
// source's report; a refused heartbeat's report goes again, and only the
// answers' usage_ack reach the source.
func TestUsageReportedUntilAcknowledged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw := &heartbeattest.Gateway{Answers: []int{200, 503, 200}, RetryAfter: "1"}
		src := &reports{}
		cfg := hbConfig()
		cfg.HTTPClient, cfg.Usage = gw.Client(), src
		h := mustNew(t, cfg, Node{}, func() Status { return Status{} })
		testenv.RunUntilCleanup(t, "Run", h.Run)
		for gw.Count() < 4 {
			time.Sleep(time.Second)
			synctest.Wait()
		}
		var seqs []any
		for _, p := range gw.Puts()[:4] {
			u, _ := p.Body["usage"].(map[string]any)
			seqs = append(seqs, u["seq"])
		}
		if want := []any{1.0, 2.0, 2.0, 3.0}; !reflect.DeepEqual(seqs, want) {
			t.Errorf("usage seq in heartbeats = %v, want %v", seqs, want)
		}
		first, _ := json.Marshal(gw.Puts()[0].Body["usage"])
		if want := `{"entries":[{"allocation_seconds":1.5,"bytes_from_peer":0,"bytes_to_peer":1,"pseudonym":"p"}],"epoch":"e1","seq":1}`; string(first) != want {
			t.Errorf("usage = %s, want %s", first, want)
		}
		src.mu.Lock()
		defer src.mu.Unlock()
		if want := []uint64{1, 2, 3}; !slices.Equal(src.acked[:3], want) {
			t.Errorf("acknowledged %v, want %v first", src.acked, want)
		}
	})
}
