package turnrelay

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/relaygate/relaygate/turnrelay/turncred"
)

func TestParsePortRange(t *testing.T) {
	for in, ok := range map[string]bool{"49152-65535": true, "3478-3478": true, "0-10": false, "10-5": false, "1-65536": false, "abc": false, "5": false} {
		if _, err := ParsePortRange(in); (err == nil) != ok {
			t.Errorf("ParsePortRange(%q) err = %v, want ok %v", in, err, ok)
		}
	}
}

func testSecrets(t *testing.T) []turncred.Secret {
	s, err := turncred.ParseSecrets("k1:0123456789abcdef0123")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConfigValidation(t *testing.T) {
	ok := Config{Secrets: testSecrets(t), ListenUDP: "127.0.0.1:0"}
	tests := []struct {
		name string
		edit func(*Config)
		want string // in the error; "" is valid
	}{
		{name: "minimal", edit: func(*Config) {}},
		{name: "no secrets", edit: func(c *Config) { c.Secrets = nil }, want: "secrets"},
		{name: "no listener", edit: func(c *Config) { c.ListenUDP = "" }, want: "listeners"},
		{name: "bad listen", edit: func(c *Config) { c.ListenUDP = "localhost:3478" }, want: "listen-udp"},
		{name: "tls without cert", edit: func(c *Config) { c.ListenTLS = "127.0.0.1:0" }, want: "listen-tls needs a certificate"},
		{name: "two ipv4 public", edit: func(c *Config) {
			c.PublicIPs = []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")}
		}, want: "at most one IPv4"},
		{name: "unspecified public", edit: func(c *Config) { c.PublicIPs = []netip.Addr{netip.IPv4Unspecified()} }, want: "public-ip"},
		{name: "wildcard without public", edit: func(c *Config) { c.ListenUDP = "0.0.0.0:0" }, want: "public-ip is required"},
		{name: "bad port range", edit: func(c *Config) { c.RelayPorts = PortRange{Min: 10, Max: 5} }, want: "relay-ports"},
		{name: "negative quota", edit: func(c *Config) { c.UserQuota = -1 }, want: "user-quota"},
		{name: "negative max-allocations", edit: func(c *Config) { c.MaxAllocations = -1 }, want: "max-allocations"},
		{name: "negative bps", edit: func(c *Config) { c.MaxBPS = -1 }, want: "max-bps"},
		{name: "invalid allow prefix", edit: func(c *Config) { c.AllowPeers = []netip.Prefix{{}} }, want: "allow-peers"},
		{name: "gateway without token", edit: func(c *Config) {
			c.Heartbeat = HeartbeatConfig{GatewayURL: "http://gw", RelayID: "fra-1", Region: "eu", Site: "fra"}
		}, want: "node-token"},
		{name: "gateway bad url", edit: func(c *Config) {
			c.Heartbeat = HeartbeatConfig{GatewayURL: "ftp://gw", NodeToken: "t", RelayID: "fra-1", Region: "eu", Site: "fra"}
		}, want: "gateway-url"},
		{name: "gateway bad id", edit: func(c *Config) {
			c.Heartbeat = HeartbeatConfig{GatewayURL: "http://gw", NodeToken: "t", RelayID: "Fra/1", Region: "eu", Site: "fra"}
		}, want: "id"},
		{name: "gateway bad lat", edit: func(c *Config) {
			c.Heartbeat = HeartbeatConfig{GatewayURL: "http://gw", NodeToken: "t", RelayID: "fra-1", Region: "eu", Site: "fra", Latitude: 91}
		}, want: "lat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			s, err := New(c, slog.New(slog.DiscardHandler))
			if s != nil {
				_ = s.Close()
			}
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("New() error = %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("New() error = %v, want one mentioning %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "0123456789abcdef") {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
}

// fakeGateway records heartbeats and answers with its scripted statuses.
type fakeGateway struct {
	mu      sync.Mutex // guards below
	bodies  []map[string]any
	auth    []string
	paths   []string
	at      []time.Time
	answers []int // status per call; past the end 200
}

func (g *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	g.mu.Lock()
	n := len(g.bodies)
	g.bodies = append(g.bodies, m)
	g.auth = append(g.auth, r.Header.Get("Authorization"))
	g.paths = append(g.paths, r.Method+" "+r.URL.Path)
	g.at = append(g.at, time.Now())
	status := http.StatusOK
	if n < len(g.answers) {
		status = g.answers[n]
	}
	g.mu.Unlock()
	if status != http.StatusOK {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"type":"https://relaygate.dev/problems/unavailable","status":503}`)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ttl_seconds":15,"heartbeat_interval_seconds":7}`)
}

func (g *fakeGateway) calls() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.bodies)
}

// handlerTransport calls an http.Handler in-process (for synctest).
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

func hbConfig(url string) HeartbeatConfig {
	return HeartbeatConfig{GatewayURL: url, NodeToken: "node-token-xyz", RelayID: "fra-1", Region: "eu-central",
		Site: "fra", Latitude: 50.11, Longitude: 8.68, Version: "0.1.0"}
}

// TestHeartbeatBody runs a real relay against an httptest gateway and
// checks the wire body field by field.
func TestHeartbeatBody(t *testing.T) {
	gw := &fakeGateway{}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	cfg := Config{
		Secrets: testSecrets(t), ListenUDP: "127.0.0.1:0", ListenTCP: "127.0.0.1:0",
		PublicIPs:      []netip.Addr{netip.MustParseAddr("203.0.113.5"), netip.MustParseAddr("2001:db8::5")},
		MaxAllocations: 100, MaxBPS: 1e9, DrainTimeout: 10 * time.Millisecond,
		Heartbeat: hbConfig(srv.URL),
	}
	s, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	if !pollUntil(5*time.Second, func() bool { return gw.calls() >= 1 }) {
		t.Error("no heartbeat within 5s")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	gw.mu.Lock()
	defer gw.mu.Unlock()
	if len(gw.bodies) < 2 {
		t.Fatalf("gateway got %d heartbeats, want a first one and a draining one", len(gw.bodies))
	}
	if gw.paths[0] != "PUT /v1/relays/fra-1" || gw.auth[0] != "Bearer node-token-xyz" {
		t.Errorf("request = %s with %q", gw.paths[0], gw.auth[0])
	}
	got, _ := json.Marshal(gw.bodies[0])
	want := `{"addresses":["203.0.113.5","2001:db8::5"],"capacity":{"allocations":100,"bandwidth_bps":1000000000},` +
		`"draining":false,"latitude":50.11,"load":{"allocations":0,"bandwidth_bps":0},"longitude":8.68,` +
		`"ports":{"tcp":` + itoa(s.Addrs().TCP.Port()) + `,"udp":` + itoa(s.Addrs().UDP.Port()) + `},"region":"eu-central","site":"fra","version":"0.1.0"}`
	if string(got) != want {
		t.Errorf("heartbeat body =\n%s\nwant\n%s", got, want)
	}
	if last := gw.bodies[len(gw.bodies)-1]; last["draining"] != true {
		t.Errorf("last heartbeat draining = %v, want true", last["draining"])
	}
}

// TestHeartbeatBackoff: failures back off exponentially with jitter, a
// success resets it, and the gateway's interval is obeyed.
func TestHeartbeatBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw := &fakeGateway{answers: []int{503, 503, 503, 200}}
		cfg := hbConfig("http://gateway.test")
		cfg.HTTPClient = &http.Client{Transport: handlerTransport{gw}}
		cfg.Rand = func() float64 { return 0.5 } // 75% of each backoff step
		h := newHeartbeater(cfg, heartbeatBody{}, func() heartbeatStatus { return heartbeatStatus{} }, slog.New(slog.DiscardHandler))
		ctx, cancel := context.WithCancel(t.Context())
		start := time.Now()
		go h.run(ctx)
		time.Sleep(30 * time.Second) // fake time inside the bubble
		synctest.Wait()
		cancel()
		gw.mu.Lock()
		defer gw.mu.Unlock()
		var offs []time.Duration
		for _, at := range gw.at {
			offs = append(offs, at.Sub(start))
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
		gw := &fakeGateway{}
		cfg := hbConfig("http://gateway.test")
		cfg.HTTPClient = &http.Client{Transport: handlerTransport{gw}}
		var draining bool
		var mu sync.Mutex
		status := func() heartbeatStatus {
			mu.Lock()
			defer mu.Unlock()
			return heartbeatStatus{Draining: draining}
		}
		h := newHeartbeater(cfg, heartbeatBody{}, status, slog.New(slog.DiscardHandler))
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go h.run(ctx)
		synctest.Wait()
		mu.Lock()
		draining = true
		mu.Unlock()
		h.kick()
		synctest.Wait()
		gw.mu.Lock()
		defer gw.mu.Unlock()
		if len(gw.bodies) != 2 || gw.bodies[1]["draining"] != true {
			t.Fatalf("heartbeats = %v, want a second one with draining at once", gw.bodies)
		}
	})
}

func TestBackoffBounds(t *testing.T) {
	h := &heartbeater{cfg: HeartbeatConfig{MaxBackoff: 30 * time.Second, Rand: func() float64 { return 0.999 }}}
	for n := 1; n < 100; n++ {
		if d := h.backoff(n); d <= 0 || d > 30*time.Second {
			t.Fatalf("backoff(%d) = %v, want in (0, 30s]", n, d)
		}
	}
}

func itoa(p uint16) string { return strconv.Itoa(int(p)) }

// pollUntil checks cond every 5ms until it holds or d passes.
func pollUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}
