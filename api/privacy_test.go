package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/relaygate/relaygate/api"
	"github.com/relaygate/relaygate/openapi/openapitest"
)

// TestLogsCarryNoSecrets sends a known client address, JWTs, a TURN secret
// and the credentials minted, then fails if any appears in the logs.
func TestLogsCarryNoSecrets(t *testing.T) {
	e := newEnv(t, trustLoopback)
	e.register("fra-1", fra1())
	userTok := e.userToken("alice@example.com")
	var minted []string
	for _, path := range []string{"/v1/credentials", "/v1/turn?ttl=600", "/v1/nope?secret=query-secret-xyz"} {
		method := "POST"
		if !strings.HasPrefix(path, "/v1/credentials") {
			method = "GET"
		}
		resp, b := e.do(req{method: method, path: path, token: userTok,
			header: map[string]string{"X-Forwarded-For": berlinIP + ", 10.1.2.3"}})
		if resp.StatusCode == 200 {
			c := decodeAs[map[string]any](t, b)
			for _, k := range []string{"username", "credential", "password"} {
				if s, ok := c[k].(string); ok {
					minted = append(minted, s)
				}
			}
		}
	}
	e.do(req{method: "GET", path: "/v1/relays", token: userTok}) // 403, wrong role
	e.do(req{method: "PUT", path: "/v1/relays/fra-1", token: "garbage-token-abc", body: fra1()})
	if len(minted) != 4 {
		t.Fatalf("minted %d secrets to look for, want 4", len(minted))
	}
	logs := e.logs.String()
	if !strings.Contains(logs, `"route":"/v1/credentials"`) {
		t.Fatalf("access log missing; logs:\n%s", logs)
	}
	leaks := append([]string{berlinIP, "10.1.2.3", "127.0.0.1", userTok, "garbage-token-abc", turnSecret,
		userSecret, "alice@example.com", "query-secret-xyz", "/v1/nope"}, minted...)
	for _, s := range leaks {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain %q", s)
		}
	}
}

// TestRoutesMatchSpec holds the router and openapi.yaml together: every
// route is documented and every documented operation is routed. Demo mode
// is on, so its route is among them.
func TestRoutesMatchSpec(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.Demo = true })
	routed := map[string]bool{}
	err := chi.Walk(e.api.Router(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if route == "/docs/*" {
			return nil // Swagger UI's static assets under /docs
		}
		routed[method+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, op := range openapitest.Load(t).Operations() {
		documented[op.Method+" "+op.Path] = true
	}
	for r := range routed {
		if !documented[r] && !strings.HasPrefix(r, "HEAD ") {
			// chi.Walk lists Handle()d routes under every method.
			if strings.HasSuffix(r, " /docs") && !strings.HasPrefix(r, "GET ") {
				continue
			}
			t.Errorf("route %s is not in openapi.yaml", r)
		}
	}
	for d := range documented {
		if !routed[d] {
			t.Errorf("openapi.yaml documents %s, which the router does not serve", d)
		}
	}
}
