package api_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/relaygate/relaygate/api"
	"github.com/relaygate/relaygate/client"
)

// TestClientModule: the browser client is served with its content type,
// cached by ETag, revalidated with 304, and readable cross-origin.
func TestClientModule(t *testing.T) {
	const origin = "https://app.example"
	e := newEnv(t, func(c *api.Config) { c.CORSOrigins = []string{origin} })
	tests := []struct {
		path, ctype string
		body        []byte
	}{
		{path: "/client/relaygate.js", ctype: "text/javascript; charset=utf-8", body: client.JS},
		{path: "/client/relaygate.d.ts", ctype: "application/typescript", body: client.TypeScript},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, b := e.do(req{method: "GET", path: tt.path, header: map[string]string{"Origin": origin}})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s = %d", tt.path, resp.StatusCode)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type = %q, want %q", got, tt.ctype)
			}
			if !bytes.Equal(b, tt.body) {
				t.Errorf("body differs from the embedded file (%d bytes, want %d)", len(b), len(tt.body))
			}
			if got := resp.Header.Get("Cache-Control"); got != "public, max-age=3600" {
				t.Errorf("Cache-Control = %q", got)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != origin {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, origin)
			}
			etag := resp.Header.Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
				resp, b = e.do(req{method: "GET", path: tt.path, header: map[string]string{"If-None-Match": inm}})
				if resp.StatusCode != http.StatusNotModified || len(b) != 0 {
					t.Errorf("If-None-Match %s: %d with %d bytes, want 304 and none", inm, resp.StatusCode, len(b))
				}
				if resp.Header.Get("ETag") != etag {
					t.Errorf("304 ETag = %q, want %q", resp.Header.Get("ETag"), etag)
				}
			}
			resp, _ = e.do(req{method: "GET", path: tt.path, header: map[string]string{"If-None-Match": `"stale"`}})
			if resp.StatusCode != http.StatusOK {
				t.Errorf("stale If-None-Match: %d, want 200", resp.StatusCode)
			}
		})
	}
}
