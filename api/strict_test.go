package api_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/relaygate/relaygate/api"
)

// TestStrictTokens checks each date rule twice: on a token parsed for the
// first time, and on a token the gateway remembers (its cache), which must
// refuse by the same rules once they apply.
func TestStrictTokens(t *testing.T) {
	const maxAge = 10 * time.Minute
	withMaxAge := func(c *api.Config) { c.User.MaxAge = maxAge }
	credentials := func(e *env, tok string) (int, string) {
		resp, b := e.do(req{method: "POST", path: "/v1/credentials", token: tok})
		if resp.StatusCode == 200 {
			return 200, ""
		}
		return resp.StatusCode, problemOf(t, resp, b).Detail
	}
	claim := func(name string, v any) func(jwt.MapClaims) { return func(c jwt.MapClaims) { c[name] = v } }
	// envWithRelay is a gateway with one relay, with the maximum age if age.
	envWithRelay := func(t *testing.T, age bool) *env {
		var tweaks []func(*api.Config)
		if age {
			tweaks = append(tweaks, withMaxAge)
		}
		e := newEnv(t, tweaks...)
		e.register("fra-1", fra1())
		return e
	}

	t.Run("first use", func(t *testing.T) {
		tests := []struct {
			name   string
			age    bool // with the maximum age set
			claims []func(jwt.MapClaims)
			detail string // "" means accepted
		}{
			{name: "numeric dates", claims: []func(jwt.MapClaims){claim("exp", t0.Add(time.Hour).Unix()), claim("nbf", t0.Unix())}},
			{name: "exp as a quoted number", claims: []func(jwt.MapClaims){claim("exp", "1e10")}, detail: "token dates (exp, nbf, iat) must be JSON numbers"},
			{name: "nbf as a quoted number", claims: []func(jwt.MapClaims){claim("nbf", "0")}, detail: "token dates (exp, nbf, iat) must be JSON numbers"},
			{name: "iat as a quoted number", claims: []func(jwt.MapClaims){claim("iat", "1764072000")}, detail: "token dates (exp, nbf, iat) must be JSON numbers"},
			{name: "exp as a boolean", claims: []func(jwt.MapClaims){claim("exp", true)}, detail: "token dates (exp, nbf, iat) must be JSON numbers"},
			{name: "iat a minute ahead", claims: []func(jwt.MapClaims){claim("iat", t0.Add(time.Minute).Unix())}, detail: `token issued in the future ("iat")`},
			{name: "iat within the leeway", claims: []func(jwt.MapClaims){claim("iat", t0.Add(4*time.Second).Unix())}},
			{name: "nbf a minute ahead", claims: []func(jwt.MapClaims){claim("nbf", t0.Add(time.Minute).Unix())}, detail: `token not valid yet ("nbf")`},
			{name: "older than the maximum age", age: true, claims: []func(jwt.MapClaims){claim("iat", t0.Add(-maxAge-time.Minute).Unix())},
				detail: "token older than this gateway's maximum token age (from its iat)"},
			{name: "within the maximum age", age: true, claims: []func(jwt.MapClaims){claim("iat", t0.Add(-maxAge+time.Minute).Unix())}},
			{name: "no iat with a maximum age", age: true, claims: []func(jwt.MapClaims){func(c jwt.MapClaims) { delete(c, "iat") }},
				detail: `token lacks "iat", which this gateway's maximum token age requires`},
			{name: "old token without a maximum age", claims: []func(jwt.MapClaims){claim("iat", t0.Add(-24*time.Hour).Unix())}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := envWithRelay(t, tt.age)
				status, detail := credentials(e, e.hsToken(userSecret, "alice", tt.claims...))
				if tt.detail == "" && status != 200 {
					t.Fatalf("status %d (%s), want 200", status, detail)
				}
				if tt.detail != "" && (status != 401 || detail != tt.detail) {
					t.Errorf("status %d, detail %q; want 401, %q", status, detail, tt.detail)
				}
			})
		}
	})

	t.Run("remembered", func(t *testing.T) {
		tests := []struct {
			name   string
			age    bool
			claims []func(jwt.MapClaims)
			then   func(e *env) // moves the clock after the first, accepted, use
			detail string
		}{
			{name: "past the maximum age", age: true,
				then:   func(e *env) { e.clock.Advance(maxAge + time.Minute) },
				detail: "token older than this gateway's maximum token age (from its iat)"},
			{name: "iat in the future after the clock steps back",
				then:   func(e *env) { e.clock.Set(t0.Add(-time.Minute)) },
				detail: `token issued in the future ("iat")`},
			{name: "nbf in the future after the clock steps back", claims: []func(jwt.MapClaims){claim("nbf", t0.Unix()), func(c jwt.MapClaims) { delete(c, "iat") }},
				then:   func(e *env) { e.clock.Set(t0.Add(-time.Minute)) },
				detail: `token not valid yet ("nbf")`},
			{name: "expired", claims: []func(jwt.MapClaims){claim("exp", t0.Add(time.Minute).Unix())},
				then:   func(e *env) { e.clock.Advance(2 * time.Minute) },
				detail: "token expired"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := envWithRelay(t, tt.age)
				tok := e.hsToken(userSecret, "alice", tt.claims...)
				if status, detail := credentials(e, tok); status != 200 {
					t.Fatalf("first use: status %d (%s), want 200", status, detail)
				}
				tt.then(e)
				e.register("fra-1", fra1()) // the relay stays fresh at the new time
				if status, detail := credentials(e, tok); status != 401 || detail != tt.detail {
					t.Errorf("remembered token: status %d, detail %q; want 401, %q", status, detail, tt.detail)
				}
			})
		}
	})

	t.Run("a quoted date is another token, parsed afresh", func(t *testing.T) {
		e := envWithRelay(t, false)
		exp := t0.Add(time.Hour).Unix()
		if status, detail := credentials(e, e.hsToken(userSecret, "alice", claim("exp", exp))); status != 200 {
			t.Fatalf("numeric exp: status %d (%s)", status, detail)
		}
		if status, _ := credentials(e, e.hsToken(userSecret, "alice", claim("exp", strconv.FormatInt(exp, 10)))); status != 401 {
			t.Errorf("the same claims with exp quoted, after the numeric one was remembered: status %d, want 401", status)
		}
	})
}
