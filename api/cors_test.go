package api_test

import (
	"testing"

	"github.com/relaygate/relaygate/api"
)

func TestCORS(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.CORSOrigins = []string{"https://app.example"} })
	e.register("fra-1", fra1())
	preflight := map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST",
		"Access-Control-Request-Headers": "authorization,content-type"}
	tests := []struct {
		name, method, path string
		token              string
		header             map[string]string
		wantOrigin         string
	}{
		{name: "preflight from an allowed origin", method: "OPTIONS", path: "/v1/credentials", header: preflight, wantOrigin: "https://app.example"},
		{name: "preflight from another origin", method: "OPTIONS", path: "/v1/credentials",
			header: map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}},
		{name: "request from an allowed origin", method: "POST", path: "/v1/credentials", token: e.userToken("a"),
			header: map[string]string{"Origin": "https://app.example"}, wantOrigin: "https://app.example"},
		{name: "candidates from an allowed origin", method: "GET", path: "/v1/candidates", token: e.userToken("a"),
			header: map[string]string{"Origin": "https://app.example"}, wantOrigin: "https://app.example"},
		{name: "operator endpoints never answer CORS", method: "GET", path: "/v1/relays", token: e.adminToken(),
			header: map[string]string{"Origin": "https://app.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := e.do(req{method: tt.method, path: tt.path, token: tt.token, header: tt.header})
			if resp.StatusCode >= 300 {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tt.wantOrigin {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.wantOrigin)
			}
			if resp.Header.Get("Access-Control-Allow-Credentials") != "" {
				t.Error("credentials mode must never be allowed")
			}
			if tt.method == "OPTIONS" && tt.wantOrigin != "" {
				if h := resp.Header.Get("Access-Control-Allow-Headers"); h == "" {
					t.Error("preflight without Access-Control-Allow-Headers")
				}
			}
		})
	}
	if _, err := api.New(api.Config{CORSOrigins: []string{"https://app.example/path"}}, e.deps); err == nil {
		t.Error("an origin with a path was accepted")
	}
}
