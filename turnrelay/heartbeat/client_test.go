package heartbeat

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/netip"
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
