package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the TURN REST scheme under test
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/relaygate/relaygate/internal/cmdline"
	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/wire"
)

const (
	testNodeSecret  = "node-secret-0123456789abcdef0123456789"
	testUserSecret  = "user-secret-0123456789abcdef0123456789"
	testTURNSecret  = "turn-secret-0123456789abcdef"
	testAdminSecret = "admin-secret-0123456789abcdef012345678"
)

// testRelayNetworks are where the tests' relays sit, outside the public
// Internet: relaynodes on loopback and documentation addresses. Gateways
// the tests start allow them unless env says otherwise.
const testRelayNetworks = "127.0.0.0/8,192.0.2.0/24,198.51.100.0/24,203.0.113.0/24,2001:db8::/32"

// startGateway runs relaygate's run() on 127.0.0.1:0 with env and returns its
// base URL; it stops when the test ends and must stop cleanly.
func startGateway(t *testing.T, env map[string]string) (string, *testenv.Buffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &testenv.Buffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		switch k {
		case "RELAYGATE_PROBE_INTERVAL":
			// The tests register relays at documentation addresses: never
			// probe them (nothing but loopback may be sent to).
			return "0"
		case "RELAYGATE_ALLOW_RELAY_NETWORKS":
			return testRelayNetworks
		case "RELAYGATE_RATE_USER", "RELAYGATE_RATE_PREFIX":
			// The tests poll for credentials far more often than an app's
			// user would; the rate-limit tests name their own rules.
			return "off"
		}
		return ""
	}
	go func() { done <- run(ctx, []string{"--listen", "127.0.0.1:0"}, getenv, logs, ready) }()
	select {
	case addr := <-ready:
		t.Cleanup(func() {
			cancel()
			testenv.WaitDone(t, "run()", done, 15*time.Second)
		})
		return "http://" + addr, logs
	case err := <-done:
		cancel()
		t.Fatalf("run() = %v; logs:\n%s", err, logs)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("gateway did not start within 10s")
	}
	return "", nil
}

func call(t *testing.T, method, url, tok string, body any) (int, []byte) {
	t.Helper()
	code, _, b := callHeader(t, method, url, tok, body)
	return code, b
}

// callHeader is call with the answer's headers.
func callHeader(t *testing.T, method, url, tok string, body any) (int, http.Header, []byte) {
	t.Helper()
	code, h, b, err := testenv.Call(t.Context(), method, url, tok, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return code, h, b
}

func TestStartsWithNoConfiguration(t *testing.T) {
	url, logs := startGateway(t, nil)
	if code, b := call(t, "GET", url+"/readyz", "", nil); code != 200 {
		t.Fatalf("readyz = %d %s", code, b)
	}
	if code, _ := call(t, "POST", url+"/v1/credentials", "x", nil); code != 401 {
		t.Errorf("credentials without a configured user key = %d, want 401", code)
	}
	if code, b := call(t, "GET", url+"/metrics", "", nil); code != 200 || !bytes.Contains(b, []byte("relaygate_http_requests_total")) {
		t.Errorf("metrics = %d, missing relaygate_http_requests_total", code)
	}
	for _, want := range []string{"no --geoip-db", "no --turn-secrets", `"store":"memory"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

// TestMetricsOnOwnListener: with --metrics-listen, /metrics is served there
// and no longer on the API's listener, so the API can be public while the
// metrics are not.
func TestMetricsOnOwnListener(t *testing.T) {
	url, logs := startGateway(t, map[string]string{"RELAYGATE_METRICS_LISTEN": "127.0.0.1:0"})
	m, err := testenv.WaitLog(logs, "metrics listening", nil, 10*time.Second)
	if err != nil {
		t.Fatalf("no metrics listener: %v; logs:\n%s", err, logs)
	}
	addr, _ := m["addr"].(string)
	if code, _ := call(t, "GET", url+"/healthz", "", nil); code != 200 { // counted in the API's metrics
		t.Fatalf("healthz = %d", code)
	}
	if code, b := call(t, "GET", "http://"+addr+"/metrics", "", nil); code != 200 || !bytes.Contains(b, []byte("relaygate_http_requests_total")) {
		t.Errorf("GET /metrics on the metrics listener = %d, missing relaygate_http_requests_total", code)
	}
	if code, _ := call(t, "GET", url+"/metrics", "", nil); code != 404 {
		t.Errorf("GET /metrics on the API listener = %d, want 404", code)
	}
	if code, _ := call(t, "GET", "http://"+addr+"/v1/relays", "", nil); code != 404 {
		t.Errorf("the metrics listener serves the API: GET /v1/relays = %d, want 404", code)
	}
}

// TestTwoGatewaysShareRedis: a relay that heartbeats into one gateway is
// selected by another on the same Redis, and the credential it mints
// verifies with a plain HMAC-SHA1.
func TestTwoGatewaysShareRedis(t *testing.T) {
	redisURL := os.Getenv("RELAYGATE_TEST_REDIS_URL")
	if redisURL == "" {
		t.Skip("RELAYGATE_TEST_REDIS_URL not set")
	}
	prefix := fmt.Sprintf("relaygate-test:%s:%x:", t.Name(), rand.Uint64())
	t.Cleanup(func() { cleanRedis(t, redisURL, prefix) })
	env := map[string]string{
		"RELAYGATE_REDIS_URL": redisURL, "RELAYGATE_REDIS_PREFIX": prefix,
		"RELAYGATE_TURN_SECRETS": "k1:" + testTURNSecret, "RELAYGATE_PSEUDONYM_KEY": "pseudonym-key-0123456789",
		"RELAYGATE_NODE_JWT_SECRET": testNodeSecret, "RELAYGATE_USER_JWT_SECRET": testUserSecret,
	}
	a, _ := startGateway(t, env)
	b, _ := startGateway(t, env)

	hb := map[string]any{"region": "eu-central", "site": "fra", "latitude": 50.11, "longitude": 8.68,
		"addresses": []string{"203.0.113.5"}, "ports": map[string]any{"udp": 3478}}
	if code, body := call(t, "PUT", a+"/v1/relays/fra-1", testenv.Token(t, testNodeSecret, "fra-1", time.Hour), hb); code != 200 {
		t.Fatalf("heartbeat into A = %d %s", code, body)
	}
	user := testenv.Token(t, testUserSecret, "alice", time.Hour)
	var got wire.Credentials
	testenv.Eventually(t, "B to select the relay registered on A", 5*time.Second, 50*time.Millisecond, func() error {
		code, body := call(t, "POST", b+"/v1/credentials", user, nil)
		if code != 200 {
			return fmt.Errorf("last %d %s", code, body)
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(body, []byte(`"relay_id":"fra-1"`)) {
			t.Fatalf("B selected something else: %s", body)
		}
		return nil
	})
	mac := hmac.New(sha1.New, []byte(testTURNSecret))
	mac.Write([]byte(got.Username))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); got.Credential != want {
		t.Errorf("credential %q, want HMAC-SHA1 %q", got.Credential, want)
	}
}

// postCredentials sends a credentials request and returns the status and the
// RateLimit field.
func postCredentials(t *testing.T, url, tok string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "POST", url+"/v1/credentials", http.NoBody)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("RateLimit")
}

// TestRateLimitsAcrossGateways: two gateway processes' worth of run() on
// one Redis spend one user's budget together: what alice spends on A, B
// refuses, with the draft's fields. The gateway wires the Redis limiter
// from --redis-url, with no flag of its own.
func TestRateLimitsAcrossGateways(t *testing.T) {
	redisURL := os.Getenv("RELAYGATE_TEST_REDIS_URL")
	if redisURL == "" {
		t.Skip("RELAYGATE_TEST_REDIS_URL not set")
	}
	prefix := fmt.Sprintf("relaygate-test:%s:%x:", t.Name(), rand.Uint64())
	t.Cleanup(func() { cleanRedis(t, redisURL, prefix); cleanRedis(t, redisURL, "rate:"+prefix) })
	env := map[string]string{
		"RELAYGATE_REDIS_URL": redisURL, "RELAYGATE_REDIS_PREFIX": prefix,
		"RELAYGATE_TURN_SECRETS": "k1:" + testTURNSecret, "RELAYGATE_PSEUDONYM_KEY": "pseudonym-key-0123456789",
		"RELAYGATE_NODE_JWT_SECRET": testNodeSecret, "RELAYGATE_USER_JWT_SECRET": testUserSecret,
		"RELAYGATE_RATE_USER": "3/1h",
	}
	a, _ := startGateway(t, env)
	b, _ := startGateway(t, env)
	hb := map[string]any{"region": "eu-central", "site": "fra", "latitude": 50.11, "longitude": 8.68,
		"addresses": []string{"203.0.113.5"}, "ports": map[string]any{"udp": 3478}}
	for _, gw := range []string{a, b} {
		if code, body := call(t, "PUT", gw+"/v1/relays/fra-1", testenv.Token(t, testNodeSecret, "fra-1", time.Hour), hb); code != 200 {
			t.Fatalf("heartbeat = %d %s", code, body)
		}
	}
	alice := testenv.Token(t, testUserSecret, "alice", time.Hour)
	for i := range 3 {
		if code, _ := postCredentials(t, a, alice); code != 200 {
			t.Fatalf("alice's request %d on A = %d, within her budget of 3", i, code)
		}
	}
	if code, _ := postCredentials(t, a, alice); code != 429 {
		t.Errorf("alice's 4th request on A = %d, want 429", code)
	}
	// B learns of A's spending at its next sync (50 ms); until then it
	// decides alone, within the documented precision (its own burst of 3).
	admittedOnB := 0
	testenv.Eventually(t, "B refuses alice", 10*time.Second, 100*time.Millisecond, func() error {
		code, field := postCredentials(t, b, alice)
		switch {
		case code == 200:
			admittedOnB++
			return errors.New("admitted")
		case code != 429 || !strings.HasPrefix(field, `"user";r=0;t=`):
			t.Fatalf("B answered %d with RateLimit %q, want 429 with the user scope", code, field)
		}
		return nil
	})
	if admittedOnB > 3 {
		t.Errorf("B admitted %d of alice's requests after A spent her budget, want at most its burst (3)", admittedOnB)
	}
	bob := testenv.Token(t, testUserSecret, "bob", time.Hour)
	if code, _ := postCredentials(t, b, bob); code != 200 {
		t.Errorf("bob on B = %d: another subject's budget is his own", code)
	}
}

func cleanRedis(t testing.TB, url, prefix string) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	c := redis.NewClient(opt)
	defer c.Close()
	ctx := context.Background()
	keys, err := c.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	if len(keys) > 0 {
		if err := c.Del(ctx, keys...).Err(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
}

// TestJurisdictionFlags: the operator's lists become the gateway's policy.
func TestJurisdictionFlags(t *testing.T) {
	cfg, err := parseConfig([]string{"--allow-countries", "de,FR,NL", "--deny-countries", "nl"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range gatewayConfig(cfg).Jurisdiction.Countries() {
		got = append(got, c.String())
	}
	if strings.Join(got, ",") != "DE,FR" {
		t.Errorf("policy permits %v, want DE,FR", got)
	}
	if cfg, _ := parseConfig(nil, func(string) string { return "" }, io.Discard); !cfg.Jurisdiction.Any() {
		t.Error("no country flags: want the policy that permits every relay")
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // error substring; "" for success
	}{
		{name: "defaults"},
		{name: "bad secret list", args: []string{"--turn-secrets", "nocolon"}, want: "--turn-secrets"},
		{name: "short TURN secret", args: []string{"--turn-secrets", "k1:short"}, want: "shorter than 16"},
		{name: "bad trusted proxy", args: []string{"--trusted-proxies", "10.0.0.0/33"}, want: "--trusted-proxies"},
		{name: "short pseudonym key", args: []string{"--pseudonym-key", "abc"}, want: "--pseudonym-key"},
		{name: "bad log level", args: []string{"--log-level", "loud"}, want: "--log-level"},
		{name: "bad env value", env: map[string]string{"RELAYGATE_HEARTBEAT_TTL": "soon"}, want: "RELAYGATE_HEARTBEAT_TTL"},
		{name: "missing public key file", args: []string{"--admin-jwt-public-key", "/nonexistent.pem"}, want: "--admin-jwt-public-key"},
		{name: "stray argument", args: []string{"serve"}, want: "unexpected argument"},
		{name: "negative token age", args: []string{"--node-jwt-max-age", "-1h"}, want: "--node-jwt-max-age"},
		{name: "token age from the environment", env: map[string]string{"RELAYGATE_USER_JWT_MAX_AGE": "24h"}},
		{name: "rate limit off", args: []string{"--rate-user", "off", "--rate-relay", "off"}},
		{name: "bad rate limit", args: []string{"--rate-prefix", "many/1m"}, want: "--rate-prefix"},
		{name: "bad rate limit from the environment", env: map[string]string{"RELAYGATE_RATE_MEASUREMENTS": "10/1ms"}, want: "--rate-measurements"},
		{name: "bad relay network", args: []string{"--allow-relay-networks", "127.0.0.1/8"}, want: "--allow-relay-networks"},
		{name: "negative store grace", args: []string{"--store-grace", "-1s"}, want: "--store-grace"},
		{name: "countries", args: []string{"--allow-countries", "de, FR,nl", "--deny-countries", "NL"}},
		{name: "countries from the environment", env: map[string]string{"RELAYGATE_DENY_COUNTRIES": "US,GB"}},
		{name: "bad allowed country", args: []string{"--allow-countries", "DE,EU"}, want: "--allow-countries"},
		{name: "bad denied country from the environment", env: map[string]string{"RELAYGATE_DENY_COUNTRIES": "USA"}, want: "--deny-countries"},
		{name: "demo on loopback", args: []string{"--demo", "--listen", "127.0.0.1:0"}, env: map[string]string{"RELAYGATE_USER_JWT_SECRET": testUserSecret}},
		{name: "demo on IPv6 loopback", args: []string{"--demo", "--listen", "[::1]:8080"}, env: map[string]string{"RELAYGATE_USER_JWT_SECRET": testUserSecret}},
		{name: "demo on localhost from the environment", args: []string{"--listen", "localhost:8080"}, env: map[string]string{"RELAYGATE_DEMO": "true", "RELAYGATE_USER_JWT_SECRET": testUserSecret}},
		{name: "demo on every interface", args: []string{"--demo", "--listen", ":8080"}, env: map[string]string{"RELAYGATE_USER_JWT_SECRET": testUserSecret}, want: "--demo"},
		{name: "demo on a public address", args: []string{"--demo", "--listen", "192.0.2.10:8080"}, env: map[string]string{"RELAYGATE_USER_JWT_SECRET": testUserSecret}, want: "loopback"},
		{name: "demo on a wildcard address from the environment", env: map[string]string{"RELAYGATE_DEMO": "1", "RELAYGATE_LISTEN": "0.0.0.0:8080", "RELAYGATE_USER_JWT_SECRET": testUserSecret}, want: "--demo"},
		{name: "demo without a user secret", args: []string{"--demo"}, want: "--user-jwt-secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			testenv.WantErr(t, "parseConfig()", err, tt.want, "0123456789")
		})
	}
}

// TestDemoMode: with --demo on loopback the gateway mints demo tokens that
// its credentials endpoint accepts; with --demo on a public --listen run
// refuses to start with a usage error (exit status 2), before listening.
func TestDemoMode(t *testing.T) {
	url, logs := startGateway(t, map[string]string{"RELAYGATE_DEMO": "true", "RELAYGATE_USER_JWT_SECRET": testUserSecret})
	code, b := call(t, "GET", url+"/demo/token", "", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /demo/token = %d: %s", code, b)
	}
	var tok wire.DemoToken
	if err := json.Unmarshal(b, &tok); err != nil {
		t.Fatal(err)
	}
	// No relay registered: the token is accepted (503 no relay), not refused (401).
	if code, b := call(t, "POST", url+"/v1/credentials", tok.Token, nil); code != http.StatusServiceUnavailable {
		t.Errorf("POST /v1/credentials with the demo token = %d: %s, want 503 (no relay yet)", code, b)
	}
	if code, _, b := callHeader(t, "GET", url+"/demo", "", nil); code != http.StatusOK || !bytes.Contains(b, []byte("relaygate demo")) {
		t.Errorf("GET /demo = %d", code)
	}
	if !strings.Contains(logs.String(), "demo mode") {
		t.Errorf("no demo mode warning in the logs:\n%s", logs)
	}
	if strings.Contains(logs.String(), tok.Token) {
		t.Error("logs contain the demo token")
	}

	getenv := func(k string) string {
		return map[string]string{"RELAYGATE_USER_JWT_SECRET": testUserSecret}[k]
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--demo", "--listen", "0.0.0.0:0"}, getenv, io.Discard, ready) }()
	select {
	case err := <-done:
		var ue *cmdline.UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("run(--demo --listen 0.0.0.0:0) = %v, want a usage error asking for loopback", err)
		}
	case addr := <-ready:
		cancel()
		testenv.WaitDone(t, "run()", done, 15*time.Second)
		t.Errorf("run(--demo --listen 0.0.0.0:0) started serving on %s, want a usage error", addr)
	case <-time.After(15 * time.Second):
		t.Fatal("run(--demo --listen 0.0.0.0:0) neither refused nor started within 15s")
	}
}

func TestFlagsBeatEnvironment(t *testing.T) {
	env := map[string]string{"RELAYGATE_LISTEN": "127.0.0.1:9999", "RELAYGATE_HEARTBEAT_TTL": "30s"}
	cfg, err := parseConfig([]string{"--listen", "127.0.0.1:7777"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:7777" || cfg.API.HeartbeatTTL != 30*time.Second {
		t.Errorf("listen %s ttl %v: want the flag's listen and the environment's TTL", cfg.Listen, cfg.API.HeartbeatTTL)
	}
}

// TestShutdownTurnsReadinessRedFirst: on SIGTERM (ctx cancel) /readyz
// answers 503 while the listener still serves, for --shutdown-delay.
func TestShutdownTurnsReadinessRedFirst(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	env := map[string]string{"RELAYGATE_SHUTDOWN_DELAY": "3s", "RELAYGATE_PROBE_INTERVAL": "0"}
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0"}, func(k string) string { return env[k] }, io.Discard, ready)
	}()
	url := "http://" + <-ready
	if code, _ := call(t, "GET", url+"/readyz", "", nil); code != 200 {
		t.Fatalf("readyz before shutdown = %d", code)
	}
	cancel()
	testenv.Eventually(t, "readyz to turn red once shutdown began", 2*time.Second, 10*time.Millisecond, func() error {
		if code, _ := call(t, "GET", url+"/readyz", "", nil); code != 503 {
			return fmt.Errorf("readyz = %d", code)
		}
		return nil
	})
	if code, _ := call(t, "GET", url+"/healthz", "", nil); code != 200 {
		t.Errorf("healthz during the shutdown delay = %d, want 200 (still serving)", code)
	}
	testenv.WaitDone(t, "run()", done, 10*time.Second)
}

// TestAllowRelayNetworks: a relay at a documentation address is refused
// with 422 by default and accepted where --allow-relay-networks allows its
// network.
func TestAllowRelayNetworks(t *testing.T) {
	hb := map[string]any{"region": "eu-central", "site": "fra", "latitude": 50.11, "longitude": 8.68,
		"addresses": []string{"203.0.113.5"}, "ports": map[string]any{"udp": 3478}}
	node := testenv.Token(t, testNodeSecret, "fra-1", time.Hour)
	for _, tt := range []struct{ nets, typ string }{
		{nets: "", typ: "urn:relaygate:problem:relay-address-refused"},
		{nets: "10.0.0.0/8,203.0.113.0/24"},
	} {
		gw, _ := startGateway(t, map[string]string{"RELAYGATE_NODE_JWT_SECRET": testNodeSecret, "RELAYGATE_ALLOW_RELAY_NETWORKS": tt.nets})
		code, body := call(t, "PUT", gw+"/v1/relays/fra-1", node, hb)
		var p wire.Problem
		if code != 200 {
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatalf("problem %s: %v", body, err)
			}
		}
		if want := map[bool]int{true: 200, false: 422}[tt.typ == ""]; code != want || p.Type != tt.typ {
			t.Errorf("allowing %q: heartbeat at 203.0.113.5 = %d %s, want %d %s", tt.nets, code, body, want, tt.typ)
		}
	}
}

// TestOwnHeartbeatSelectableAtOnce: a relay that registers here is selected
// by the very next request, with no refresh interval in between.
func TestOwnHeartbeatSelectableAtOnce(t *testing.T) {
	env := map[string]string{
		"RELAYGATE_TURN_SECRETS": "k1:" + testTURNSecret, "RELAYGATE_PSEUDONYM_KEY": "pseudonym-key-0123456789",
		"RELAYGATE_NODE_JWT_SECRET": testNodeSecret, "RELAYGATE_USER_JWT_SECRET": testUserSecret,
	}
	gw, _ := startGateway(t, env)
	user := testenv.Token(t, testUserSecret, "alice", time.Hour)
	for i := range 20 {
		id := fmt.Sprintf("r%d-1", i)
		hb := map[string]any{"region": "eu", "site": fmt.Sprintf("s%d", i), "latitude": 50.0, "longitude": 8.0,
			"addresses": []string{"203.0.113.5"}, "ports": map[string]any{"udp": 3478}}
		if code, b := call(t, "PUT", gw+"/v1/relays/"+id, testenv.Token(t, testNodeSecret, id, time.Hour), hb); code != 200 {
			t.Fatalf("heartbeat: %d %s", code, b)
		}
		if i == 0 {
			if code, b := call(t, "POST", gw+"/v1/credentials", user, nil); code != 200 {
				t.Fatalf("credentials right after the first registration: %d %s", code, b)
			}
		}
	}
}
