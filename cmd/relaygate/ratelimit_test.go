package main

import (
	"io"
	"testing"
	"time"

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
