package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/relaygate/relaygate/api"
	"github.com/relaygate/relaygate/ratelimit"
)

// limited gives e an in-memory limiter with rules (on e's clock) and fresh
// metrics, which it returns.
func (e *env) limited(rules map[string]ratelimit.Rule) *api.Metrics {
	e.t.Helper()
	l, err := ratelimit.NewMemory(ratelimit.Config{Rules: rules, Now: e.clock.Now})
	if err != nil {
		e.t.Fatal(err)
	}
	m := api.NewMetrics(prometheus.NewRegistry())
	e.rebuild(func(d *api.Deps) { d.Limiter = l; d.Metrics = m })
	return m
}

// perMinute is a rule of limit requests a minute.
func perMinute(limit int) ratelimit.Rule {
	return ratelimit.Rule{Limit: limit, Window: time.Minute, Burst: limit}
}

// from sends as a client at ip (the env trusts loopback's X-Forwarded-For).
func from(ip string) map[string]string { return map[string]string{"X-Forwarded-For": ip} }

var measurement = map[string]any{"measurements": []any{map[string]any{"relay_id": "fra-1", "rtt_ms": 21.5}}}

// TestRateLimits spends each scope's budget through the real router and
// checks the 429 it then answers (validated against openapi.yaml by the
// env's client), that other keys and other scopes are untouched, and that
// the budget refills.
func TestRateLimits(t *testing.T) {
	type call struct {
		name string
		req  func(e *env) req
	}
	credentials := func(sub, ip string) call {
		return call{name: "credentials " + sub + " from " + ip, req: func(e *env) req {
			return req{method: "POST", path: "/v1/credentials", token: e.userToken(sub), header: from(ip)}
		}}
	}
	turn := func(sub, ip string) call {
		return call{name: "turn " + sub, req: func(e *env) req {
			return req{method: "GET", path: "/v1/turn", token: e.userToken(sub), header: from(ip)}
		}}
	}
	measure := func(sub, ip string) call {
		return call{name: "measurements " + sub, req: func(e *env) req {
			return req{method: "POST", path: "/v1/measurements", token: e.userToken(sub), body: measurement, header: from(ip)}
		}}
	}
	heartbeat := func(id string) call {
		return call{name: "heartbeat " + id, req: func(e *env) req {
			return req{method: "PUT", path: "/v1/relays/" + id, token: e.nodeToken(id), body: fra1()}
		}}
	}
	const otherNet = "198.51.101.7" // another /24
	tests := []struct {
		name   string
		rules  map[string]ratelimit.Rule
		spend  []call // all admitted
		refuse call   // then refused
		policy string // its RateLimit-Policy
		wait   string // its Retry-After and RateLimit t
		others []call // still admitted after the refusal
	}{
		{
			name:  "a subject's credentials and TURN share one budget",
			rules: map[string]ratelimit.Rule{"user": perMinute(3), "prefix": perMinute(100)},
			spend: []call{credentials("alice", berlinIP), turn("alice", berlinIP), credentials("alice", otherNet)}, refuse: credentials("alice", berlinIP),
			policy: `"user";q=3;w=60`, wait: "20",
			others: []call{credentials("bob", berlinIP), measure("alice", berlinIP)},
		},
		{
			name:  "a client prefix is limited whoever's token it sends",
			rules: map[string]ratelimit.Rule{"user": perMinute(100), "prefix": perMinute(3)},
			spend: []call{credentials("alice", berlinIP), credentials("bob", "198.51.100.1"), measure("carol", "198.51.100.200")}, refuse: turn("dave", "198.51.100.9"),
			policy: `"prefix";q=3;w=60`, wait: "20",
			others: []call{credentials("dave", otherNet), heartbeat("fra-1")},
		},
		{
			name:  "one reporter's measurements have their own budget",
			rules: map[string]ratelimit.Rule{"measurements": perMinute(2), "user": perMinute(100)},
			spend: []call{measure("alice", berlinIP), measure("alice", otherNet)}, refuse: measure("alice", berlinIP),
			policy: `"measurements";q=2;w=60`, wait: "30",
			others: []call{measure("bob", berlinIP), credentials("alice", berlinIP)},
		},
		{
			name:  "heartbeats are limited per relay",
			rules: map[string]ratelimit.Rule{"relay": perMinute(2)},
			spend: []call{heartbeat("fra-1"), heartbeat("fra-1")}, refuse: heartbeat("fra-1"),
			policy: `"relay";q=2;w=60`, wait: "30",
			others: []call{heartbeat("ams-2"), credentials("alice", berlinIP)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, trustLoopback)
			e.register("fra-1", fra1())
			metrics := e.limited(tt.rules)
			for _, c := range tt.spend {
				if resp, b := e.do(c.req(e)); resp.StatusCode >= 300 {
					t.Fatalf("%s: status %d within the budget: %s", c.name, resp.StatusCode, b)
				}
			}
			resp, b := e.do(tt.refuse.req(e))
			if resp.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("%s past the budget: status %d, want 429: %s", tt.refuse.name, resp.StatusCode, b)
			}
			if p := problemOf(t, resp, b); p.Type != "urn:relaygate:problem:rate-limited" {
				t.Errorf("problem type %q, want rate-limited", p.Type)
			}
			scope, _, _ := cutQuoted(tt.policy)
			for field, want := range map[string]string{
				"Retry-After":      tt.wait,
				"RateLimit-Policy": tt.policy,
				"RateLimit":        `"` + scope + `";r=0;t=` + tt.wait,
			} {
				if got := resp.Header.Get(field); got != want {
					t.Errorf("%s = %q, want %q", field, got, want)
				}
			}
			if got := testutil.ToFloat64(metrics.RateLimited(scope)); got != 1 {
				t.Errorf("relaygate_rate_limited_total{scope=%q} = %v, want 1", scope, got)
			}
			for _, c := range tt.others {
				if resp, b := e.do(c.req(e)); resp.StatusCode >= 300 {
					t.Errorf("%s after another key's refusal: status %d: %s", c.name, resp.StatusCode, b)
				}
			}
			e.clock.Advance(time.Minute)
			e.register("fra-1", fra1()) // the relay stays fresh; its own budget has refilled too
			if resp, b := e.do(tt.refuse.req(e)); resp.StatusCode >= 300 {
				t.Errorf("%s a window later: status %d, want admitted: %s", tt.refuse.name, resp.StatusCode, b)
			}
		})
	}
}

// cutQuoted splits `"name";rest` into name and rest.
func cutQuoted(s string) (name, rest string, ok bool) {
	if len(s) < 2 || s[0] != '"' {
		return "", s, false
	}
	for i := 1; i < len(s); i++ {
		if s[i] == '"' {
			return s[1:i], s[i+1:], true
		}
	}
	return "", s, false
}

// TestRateLimitsOff: with no limiter, or a scope off, nothing is refused.
func TestRateLimitsOff(t *testing.T) {
	e := newEnv(t, trustLoopback)
	e.register("fra-1", fra1())
	e.limited(map[string]ratelimit.Rule{"user": {}, "prefix": perMinute(1000)})
	for i := range 50 {
		if resp, b := e.do(req{method: "POST", path: "/v1/credentials", token: e.userToken("alice"), header: from(berlinIP)}); resp.StatusCode != 200 {
			t.Fatalf("request %d with the user scope off: status %d: %s", i, resp.StatusCode, b)
		}
	}
}
