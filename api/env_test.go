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
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/relaygate/relaygate/api"
	"github.com/relaygate/relaygate/gateway"
	"github.com/relaygate/relaygate/geoip"
	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/openapi/openapitest"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/store/storetest"
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

// env is one gateway under test behind an httptest server: the API over
// the real gateway (probing off: the relays sit at documentation
// addresses, whose networks it allows: docNets) on an in-memory store and a real GeoIP database, as
// cmd/relaygate wires them. Every response its client receives is checked
// against openapi.yaml.
type env struct {
	t        *testing.T
	clock    *storetest.Clock // shared by the store, the gateway and the API
	reg      store.Registry
	gw       *gateway.Gateway
	srv      *httptest.Server
	api      *api.Server
	client   *http.Client
	logs     *testenv.Buffer
	adminKey ed25519.PrivateKey
	cfg      api.Config
	deps     api.Deps
	gwCfg    gateway.Config // the gateway's, ProbeOff and docNets allowed
	geo      *geoip.DB      // the clients' Locator and the relays' Countries
}

// newGateway builds the gateway over reg with e.gwCfg and e.geo, as
// cmd/relaygate wires it.
func (e *env) newGateway(reg store.Registry, log *slog.Logger) *gateway.Gateway {
	e.t.Helper()
	m, err := newMinter()
	if err != nil {
		e.t.Fatal(err)
	}
	cfg := e.gwCfg
	cfg.ProbeOff, cfg.AllowRelayNetworks = true, docNets
	gw, err := gateway.New(cfg, gateway.Deps{Store: reg, Usage: usageOf(reg), Minter: m, Log: log, Now: e.clock.Now, Countries: e.geo})
	if err != nil {
		e.t.Fatalf("gateway.New() error = %v", err)
	}
	return gw
}

// setStore rebuilds the gateway over reg, and the API over it.
func (e *env) setStore(reg store.Registry) {
	e.t.Helper()
	e.reg = reg
	e.gw = e.newGateway(reg, slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	e.rebuild(func(d *api.Deps) {
		d.Registry, d.Picker, d.Minter, d.Measurements, d.Revocations, d.Usage = e.gw, e.gw, e.gw, e.gw, e.gw, e.gw
	})
}

// setGateway rebuilds the gateway, on the same store, with its Config
// changed by f, and the API over it.
func (e *env) setGateway(f func(*gateway.Config)) {
	e.t.Helper()
	f(&e.gwCfg)
	e.setStore(e.reg)
}

// setMeasurements rebuilds the API with m as its Measurements.
func (e *env) setMeasurements(m api.Measurements) {
	e.t.Helper()
	e.rebuild(func(d *api.Deps) { d.Measurements = m })
}

// rebuild rebuilds the API with its deps changed by f.
func (e *env) rebuild(f func(*api.Deps)) {
	e.t.Helper()
	f(&e.deps)
	a, err := api.New(e.cfg, e.deps)
	if err != nil {
		e.t.Fatal(err)
	}
	e.api = a
	e.srv.Config.Handler = a
}

// bothStores open the env's store: in memory, and on the test Redis
// (storetest.OpenRedis skips without one) under a key prefix of the test's.
var bothStores = map[string]func(t *testing.T, now func() time.Time) store.Registry{
	"memory": func(t *testing.T, now func() time.Time) store.Registry {
		return storetest.NewMemory(t, store.MemoryConfig{Now: now})
	},
	"redis": func(t *testing.T, now func() time.Time) store.Registry {
		return storetest.OpenRedis(t, store.RedisConfig{Prefix: storetest.KeyPrefix(t), Now: now})
	},
}

func newEnv(t *testing.T, tweak ...func(*api.Config)) *env {
	t.Helper()
	return newEnvOn(t, func(now func() time.Time) store.Registry {
		return storetest.NewMemory(t, store.MemoryConfig{Now: now})
	}, tweak...)
}

// usageOf is reg's usage store; nil when it keeps none.
func usageOf(reg store.Registry) store.Usage {
	u, _ := reg.(store.Usage)
	return u
}

// newEnvOn is newEnv on the store open returns for the env's clock.
func newEnvOn(t *testing.T, open func(now func() time.Time) store.Registry, tweak ...func(*api.Config)) *env {
	t.Helper()
	e := &env{t: t, clock: storetest.NewClock(t0), logs: &testenv.Buffer{}}
	e.reg = open(e.clock.Now)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e.adminKey = priv
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	cfg := api.Config{
		User:  api.KeyConfig{Secret: []byte(userSecret)},
		Node:  api.KeyConfig{Secret: []byte(nodeSecret)},
		Admin: api.KeyConfig{PublicKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})},
	}
	for _, f := range tweak {
		f(&cfg)
	}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.geo = openGeoIP(t, log.With("component", "geoip"))
	e.gw = e.newGateway(e.reg, log)
	e.deps = api.Deps{
		Registry:     e.gw,
		Picker:       e.gw,
		Minter:       e.gw,
		Measurements: e.gw,
		Revocations:  e.gw,
		Locator:      e.geo,
		Usage:        e.gw,
		Log:          log,
		Now:          e.clock.Now,
		MetricsHandler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			if _, err := io.WriteString(w, "# metrics\n"); err != nil {
				t.Errorf("GET /metrics: write: %v", err)
			}
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

// docNets are the documentation ranges the tests' relays sit in: the env's
// gateway allows relays there, as a lab's operator would with
// --allow-relay-networks.
var docNets = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/32"),
}

// newMinter mints with turnSecret under the key id k1.
func newMinter() (*turncred.Minter, error) {
	secret, err := turncred.NewSecret("k1", turnSecret)
	if err != nil {
		return nil, err
	}
	return turncred.NewMinter([]turncred.Secret{secret}, []byte("pseudonym-key-0123456789"))
}

// run runs the gateway's background work (snapshot refresh, measurement
// queue) until the test ends.
func (e *env) run() { testenv.RunUntilCleanup(e.t, "gateway Run()", e.gw.Run) }

// mustJWT signs claims with key by method, failing t on an error.
func mustJWT(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// hsToken is an HS256 token for sub, valid for an hour, with claims
// tweaked.
func (e *env) hsToken(secret, sub string, claims ...func(jwt.MapClaims)) string {
	now := e.clock.Now()
	c := jwt.MapClaims{"sub": sub, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
	for _, f := range claims {
		f(c)
	}
	return mustJWT(e.t, jwt.SigningMethodHS256, []byte(secret), c)
}

func (e *env) userToken(sub string) string { return e.hsToken(userSecret, sub) }
func (e *env) nodeToken(id string) string  { return e.hsToken(nodeSecret, id) }
func (e *env) adminToken() string {
	return mustJWT(e.t, jwt.SigningMethodEdDSA, e.adminKey, jwt.MapClaims{"sub": "ops", "exp": e.clock.Now().Add(time.Hour).Unix()})
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
	hr, err := http.NewRequestWithContext(e.t.Context(), r.method, e.srv.URL+r.path, body)
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
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", r.method, r.path, err)
	}
	return resp, b
}

// decodeAs decodes an answer's JSON body, failing t unless it is a T.
func decodeAs[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("answer %s is not a %T: %v", b, v, err)
	}
	return v
}

// eventually polls cond, which reads what the gateway's background work
// changes, until it holds, and fails t once 5s have passed without.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(10 * time.Millisecond) // a poll, bounded by the deadline
	}
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
