package main

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/ratelimit"
)

// TestRateLimitDefaults: every scope has a default rule a real client
// never reaches, and the flags set them.
func TestRateLimitDefaults(t *testing.T) {
	cfg, err := parseConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, scope := range []string{"user", "prefix", "measurements", "relay"} {
		if r := cfg.Rates[scope]; r.Off() {
			t.Errorf("scope %s has no default rule", scope)
		}
	}
	// relaygate.js: credentials and a refresh at 80 % of a 60 s lifetime
	// (the shortest) per call, a measurement report every 30 s.
	perMinute := func(r ratelimit.Rule) float64 { return float64(r.Limit) / r.Window.Minutes() }
	if got := perMinute(cfg.Rates["user"]); got < 10 {
		t.Errorf("default user rule %v allows %.1f a minute; relaygate.js needs a few", cfg.Rates["user"], got)
	}
	if got := perMinute(cfg.Rates["measurements"]); got < 4 {
		t.Errorf("default measurements rule %v allows %.1f a minute; relaygate.js sends 2 per instance", cfg.Rates["measurements"], got)
	}
	if got := perMinute(cfg.Rates["relay"]); got < 60 {
		t.Errorf("default relay rule %v allows %.1f a minute; a relay heartbeats once a second at --heartbeat-ttl 3s", cfg.Rates["relay"], got)
	}
	cfg, err = parseConfig([]string{"--rate-user", "5/1h,burst=2"}, func(k string) string {
		return map[string]string{"RELAYGATE_RATE_RELAY": "off"}[k]
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Rates["user"], (ratelimit.Rule{Limit: 5, Window: time.Hour, Burst: 2}); got != want {
		t.Errorf("--rate-user 5/1h,burst=2 = %+v, want %+v", got, want)
	}
	if !cfg.Rates["relay"].Off() {
		t.Errorf("RELAYGATE_RATE_RELAY=off = %+v, want off", cfg.Rates["relay"])
	}
}

// post sends a credentials request and returns the status and the
// RateLimit field.
func post(t *testing.T, url, tok string) (int, string) {
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
		if code, _ := post(t, a, alice); code != 200 {
			t.Fatalf("alice's request %d on A = %d, within her budget of 3", i, code)
		}
	}
	if code, _ := post(t, a, alice); code != 429 {
		t.Errorf("alice's 4th request on A = %d, want 429", code)
	}
	// B learns of A's spending at its next sync (50 ms); until then it
	// decides alone, within the documented precision (its own burst of 3).
	admittedOnB := 0
	testenv.Eventually(t, "B refuses alice", 10*time.Second, 100*time.Millisecond, func() error {
		code, field := post(t, b, alice)
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
	if code, _ := post(t, b, bob); code != 200 {
		t.Errorf("bob on B = %d: another subject's budget is his own", code)
	}
}
