package api_test

import (
	"bytes"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/relaygate/relaygate/api"
	"github.com/relaygate/relaygate/client"
	"github.com/relaygate/relaygate/wire"
)

// demoOn turns demo mode on.
func demoOn(c *api.Config) { c.Demo = true }

// TestDemoPage: GET /demo and its module and style sheet are served with
// their content types under a Content-Security-Policy that allows nothing
// but the gateway's own origin, and none of them names another host.
func TestDemoPage(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		path, ctype string
		body        []byte
	}{
		{path: "/demo", ctype: "text/html; charset=utf-8", body: client.DemoHTML},
		{path: "/demo/demo.js", ctype: "text/javascript; charset=utf-8", body: client.DemoJS},
		{path: "/demo/demo.css", ctype: "text/css; charset=utf-8", body: client.DemoCSS},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, b := e.do(req{method: "GET", path: tt.path})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s = %d: %s", tt.path, resp.StatusCode, b)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type = %q, want %q", got, tt.ctype)
			}
			if !bytes.Equal(b, tt.body) {
				t.Errorf("body differs from the embedded file (%d bytes, want %d)", len(b), len(tt.body))
			}
			checkDemoCSP(t, resp.Header.Get("Content-Security-Policy"))
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
			// No outside host: no absolute URL, protocol-relative URL or @import.
			if m := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}|@import|<iframe`).Find(b); m != nil {
				t.Errorf("%s refers outside the gateway: %q", tt.path, m)
			}
		})
	}
	// The page loads its module and style sheet relative to /demo, and the
	// module imports relaygate.js relative to itself: a gateway behind a
	// path prefix serves them all.
	for _, ref := range []string{`src="demo/demo.js"`, `href="demo/demo.css"`} {
		if !bytes.Contains(client.DemoHTML, []byte(ref)) {
			t.Errorf("demo.html does not load %s", ref)
		}
	}
	if !bytes.Contains(client.DemoJS, []byte(`from '../client/relaygate.js'`)) {
		t.Error("demo.js does not import ../client/relaygate.js")
	}
	// No inline script or style, which the policy would block.
	if m := regexp.MustCompile(`<script(?:\s+type="module")?>|<style|\sstyle=|\son[a-z]+=`).Find(client.DemoHTML); m != nil {
		t.Errorf("demo.html has inline code or style the CSP blocks: %q", m)
	}
}

// checkDemoCSP fails t unless csp allows only 'self' (or nothing) for
// every directive and forbids inline code, framing and other origins.
func checkDemoCSP(t *testing.T, csp string) {
	t.Helper()
	if csp == "" {
		t.Fatal("no Content-Security-Policy")
	}
	dirs := map[string]string{}
	for _, d := range strings.Split(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		dirs[name] = value
		for _, src := range strings.Fields(value) {
			if src != "'self'" && src != "'none'" {
				t.Errorf("CSP %s allows %s; want 'self' or 'none' only", name, src)
			}
		}
	}
	for name, want := range map[string]string{"default-src": "'none'", "script-src": "'self'", "connect-src": "'self'", "frame-ancestors": "'none'"} {
		if dirs[name] != want {
			t.Errorf("CSP %s = %q, want %q (policy %q)", name, dirs[name], want, csp)
		}
	}
}

// TestDemoToken: GET /demo/token exists only in demo mode; there it mints
// a short-lived token for a fresh random subject that POST /v1/credentials
// accepts, refuses requests that name a non-loopback host, and never
// writes the token to the logs.
func TestDemoToken(t *testing.T) {
	t.Run("absent without demo mode", func(t *testing.T) {
		e := newEnv(t)
		resp, b := e.do(req{method: "GET", path: "/demo/token"})
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("GET /demo/token without demo mode = %d: %s, want 404", resp.StatusCode, b)
		}
		if p := problemOf(t, resp, b); p.Type != "urn:relaygate:problem:not-found" {
			t.Errorf("problem type %q, want not-found", p.Type)
		}
	})
	t.Run("mints a token the gateway accepts", func(t *testing.T) {
		e := newEnv(t, demoOn)
		e.register("fra-1", fra1())
		resp, b := e.do(req{method: "GET", path: "/demo/token"})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /demo/token = %d: %s", resp.StatusCode, b)
		}
		if got := resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", got)
		}
		tok := decodeAs[wire.DemoToken](t, b)
		if want := e.clock.Now().Add(api.DemoTokenTTL).Truncate(time.Second); !tok.ExpiresAt.Equal(want) {
			t.Errorf("expires_at = %v, want %v", tok.ExpiresAt, want)
		}
		resp, b = e.do(req{method: "POST", path: "/v1/credentials", token: tok.Token})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /v1/credentials with the demo token = %d: %s", resp.StatusCode, b)
		}
		if c := decodeAs[wire.Credentials](t, b); c.Primary.RelayID != "fra-1" {
			t.Errorf("primary %q, want fra-1", c.Primary.RelayID)
		}
		_, b2 := e.do(req{method: "GET", path: "/demo/token"})
		if other := decodeAs[wire.DemoToken](t, b2); other.Token == tok.Token {
			t.Error("two demo tokens are the same; want a fresh subject each")
		}
		// Past its lifetime the token is refused.
		e.clock.Advance(api.DemoTokenTTL + time.Minute)
		resp, b = e.do(req{method: "POST", path: "/v1/credentials", token: tok.Token})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST /v1/credentials with an expired demo token = %d: %s, want 401", resp.StatusCode, b)
		}
		if strings.Contains(e.logs.String(), tok.Token) {
			t.Error("logs contain the demo token")
		}
	})
	t.Run("carries the configured issuer and audience", func(t *testing.T) {
		e := newEnv(t, demoOn, func(c *api.Config) { c.User.Issuer, c.User.Audience = "https://app.example", "relaygate" })
		e.register("fra-1", fra1())
		_, b := e.do(req{method: "GET", path: "/demo/token"})
		tok := decodeAs[wire.DemoToken](t, b)
		if resp, b := e.do(req{method: "POST", path: "/v1/credentials", token: tok.Token}); resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /v1/credentials with the demo token = %d: %s", resp.StatusCode, b)
		}
	})
	t.Run("refuses a non-loopback Host", func(t *testing.T) {
		e := newEnv(t, demoOn)
		for host, want := range map[string]int{
			"rebound.example": http.StatusNotFound, "rebound.example:8080": http.StatusNotFound, "192.0.2.1:8080": http.StatusNotFound,
			"localhost:8080": http.StatusOK, "127.0.0.1": http.StatusOK, "[::1]:8080": http.StatusOK, "[::1]": http.StatusOK,
		} {
			hr, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.srv.URL+"/demo/token", http.NoBody)
			if err != nil {
				t.Fatal(err)
			}
			hr.Host = host
			resp, err := e.client.Do(hr)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("Host %s: GET /demo/token = %d: %s, want %d", host, resp.StatusCode, b, want)
			}
		}
	})
	t.Run("needs an HS256 user secret", func(t *testing.T) {
		cfg := api.Config{Demo: true}
		e := newEnv(t)
		if _, err := api.New(cfg, e.deps); err == nil || !strings.Contains(err.Error(), "demo") {
			t.Errorf("api.New(Demo without a user secret) error = %v, want one about demo mode", err)
		}
	})
}
