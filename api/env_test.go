package api_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/relaygate/relaygate/api"
	"github.com/relaygate/relaygate/gateway"
	"github.com/relaygate/relaygate/geoip"
	"github.com/relaygate/relaygate/internal/geoiptest"
	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/openapi/openapitest"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/turnrelay/turncred"
	"github.com/relaygate/relaygate/wire"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// Secrets used across the tests; the privacy test looks for them in logs.
const (
	userSecret  = "user-secret-0123456789abcdef0123456789"
	nodeSecret  = "node-secret-0123456789abcdef0123456789"
	turnSecret  = "turn-secret-0123456789abcdef"
	berlinIP    = "198.51.100.77" // the located test client
	newYorkIP   = "203.0.113.200"
	unlocatedIP = "192.0.2.9"
)

// clock is a settable fake clock shared by the store, the API and the picker.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time               { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration)      { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock() *clock                        { return &clock{t: t0} }
func (c *clock) In(d time.Duration) time.Time { return c.Now().Add(d) }

// geoDB is a GeoLite2-City-layout database that locates the test clients
// (Berlin, New York) and nothing else.
var geoDB = sync.OnceValues(func() ([]byte, error) {
	return geoiptest.DB("GeoLite2-City",
		geoiptest.Place{Network: netip.MustParsePrefix(berlinIP + "/32"), Lat: 52.52, Lon: 13.40, City: "Berlin"},
		geoiptest.Place{Network: netip.MustParsePrefix(newYorkIP + "/32"), Lat: 40.71, Lon: -74.01, City: "New York"},
	)
})

// openGeoIP opens geoDB as the gateway does its --geoip-db.
func openGeoIP(t *testing.T, log *slog.Logger) *geoip.DB {
	t.Helper()
	data, err := geoDB()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "city.mmdb")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := geoip.Open(path, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// env is one gateway under test behind an httptest server: the API over
// the real gateway (probing off: the relays sit at documentation
// addresses) on an in-memory store and a real GeoIP database, as
// cmd/relaygate wires them. Every response its client receives is checked
// against openapi.yaml.
type env struct {
	t        *testing.T
	clock    *clock
	reg      *store.Memory
	gw       *gateway.Gateway
	srv      *httptest.Server
	api      *api.Server
	client   *http.Client
	logs     *syncBuffer
	adminKey ed25519.PrivateKey
	cfg      api.Config
	deps     api.Deps
}

// setMeasurements rebuilds the API with m as its Measurements.
func (e *env) setMeasurements(m api.Measurements) {
	e.t.Helper()
	e.deps.Measurements = m
	a, err := api.New(e.cfg, e.deps)
	if err != nil {
		e.t.Fatal(err)
	}
	e.api = a
	e.srv.Config.Handler = a
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func newEnv(t *testing.T, tweak ...func(*api.Config)) *env {
	t.Helper()
	e := &env{t: t, clock: newClock(), logs: &syncBuffer{}}
	reg, err := store.NewMemory(store.MemoryConfig{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.reg = reg
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e.adminKey = priv
	der, _ := x509.MarshalPKIXPublicKey(pub)
	cfg := api.Config{
		User:  api.KeyConfig{Secret: []byte(userSecret)},
		Node:  api.KeyConfig{Secret: []byte(nodeSecret)},
		Admin: api.KeyConfig{PublicKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})},
	}
	for _, f := range tweak {
		f(&cfg)
	}
	secrets, _ := turncred.ParseSecrets("k1:" + turnSecret)
	m, _ := turncred.NewMinter(secrets, []byte("pseudonym-key-0123456789"))
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.gw, err = gateway.New(gateway.Config{ProbeOff: true}, gateway.Deps{Store: e.reg, Minter: m, Log: log, Now: e.clock.Now})
	if err != nil {
		t.Fatalf("gateway.New() error = %v", err)
	}
	e.deps = api.Deps{
		Registry:     e.gw,
		Picker:       e.gw,
		Minter:       e.gw,
		Measurements: e.gw,
		Locator:      openGeoIP(t, log.With("component", "geoip")),
		Log:          log,
		Now:          e.clock.Now,
		MetricsHandler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			io.WriteString(w, "# metrics\n")
		}),
	}
	e.cfg = cfg
	e.api, err = api.New(cfg, e.deps)
	if err != nil {
		t.Fatalf("api.New() error = %v", err)
	}
	e.srv = httptest.NewServer(e.api)
	t.Cleanup(e.srv.Close)
	e.client = &http.Client{Transport: openapitest.Load(t).Transport(t, nil)}
	return e
}

// run runs the gateway's background work (snapshot refresh, measurement
// queue) until the test ends.
func (e *env) run() { testenv.RunUntilCleanup(e.t, "gateway Run()", e.gw.Run) }

func (e *env) hsToken(secret, sub string, claims ...func(jwt.MapClaims)) string {
	c := jwt.MapClaims{"sub": sub, "exp": e.clock.In(time.Hour).Unix(), "iat": e.clock.Now().Unix()}
	for _, f := range claims {
		f(c)
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) userToken(sub string) string { return e.hsToken(userSecret, sub) }
func (e *env) nodeToken(id string) string  { return e.hsToken(nodeSecret, id) }
func (e *env) adminToken() string {
	c := jwt.MapClaims{"sub": "ops", "exp": e.clock.In(time.Hour).Unix()}
	s, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c).SignedString(e.adminKey)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// req describes one request.
type req struct {
	method, path, token string
	body                any // string or []byte sent as is; anything else as JSON
	contentType         string
	header              map[string]string
}

// do sends r and returns the status and body.
func (e *env) do(r req) (*http.Response, []byte) {
	e.t.Helper()
	var body io.Reader
	ct := r.contentType
	switch b := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		body = bytes.NewReader(j)
		if ct == "" {
			ct = "application/json"
		}
	}
	hr, err := http.NewRequest(r.method, e.srv.URL+r.path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if ct != "" {
		hr.Header.Set("Content-Type", ct)
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	resp, err := e.client.Do(hr)
	if err != nil {
		e.t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// heartbeat is a valid heartbeat body for a relay; tweak it per test.
func heartbeat(region, site string, lat, lon float64, addrs ...string) map[string]any {
	return map[string]any{
		"region": region, "site": site, "latitude": lat, "longitude": lon,
		"addresses": addrs, "hostname": site + ".relay.example",
		"ports":    map[string]any{"udp": 3478, "tcp": 3478, "tls": 5349},
		"capacity": map[string]any{"allocations": 1000, "bandwidth_bps": 1_000_000_000},
		"load":     map[string]any{"allocations": 10, "bandwidth_bps": 1_000_000},
		"version":  "0.1.0",
	}
}

func fra1() map[string]any {
	return heartbeat("eu-central", "fra", 50.11, 8.68, "203.0.113.5", "2001:db8::5")
}
func ams2() map[string]any { return heartbeat("eu-west", "ams", 52.37, 4.90, "203.0.113.6") }
func nyc1() map[string]any { return heartbeat("us-east", "nyc", 40.71, -74.0, "203.0.113.7") }

// register heartbeats a relay and requires 200.
func (e *env) register(id string, body map[string]any) {
	e.t.Helper()
	resp, b := e.do(req{method: "PUT", path: "/v1/relays/" + id, token: e.nodeToken(id), body: body})
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("heartbeat %s: status %d: %s", id, resp.StatusCode, b)
	}
}

// problemOf decodes a problem+json body.
func problemOf(t *testing.T, resp *http.Response, b []byte) wire.Problem {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json (body %s)", ct, b)
	}
	var p wire.Problem
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("problem body %s: %v", b, err)
	}
	if p.Status != resp.StatusCode {
		t.Errorf("problem status %d != HTTP status %d", p.Status, resp.StatusCode)
	}
	return p
}
