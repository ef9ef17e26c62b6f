package pionclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/relaygate/relaygate/client/pionclient"
	"github.com/relaygate/relaygate/wire"
)

const goodAnswer = `{"username":"1764113400:k1.abc","credential":"c2VjcmV0","ttl_seconds":600,
"expires_at":"2026-11-25T21:30:00Z","primary":{"relay_id":"fra-1","region":"eu","site":"fra","urls":["turn:203.0.113.5:3478?transport=udp"],"basis":"geo"},
"ice_servers":[{"urls":["turn:203.0.113.5:3478?transport=udp","turns:fra-1.relay.example:5349?transport=tcp"],"username":"1764113400:k1.abc","credential":"c2VjcmV0"}],
"ice_transport_policy":"relay"}`

// gatewayStub answers every request with status, header and body, and
// records the last request's method, path, authorization and body.
type gatewayStub struct {
	status int
	header http.Header
	body   string

	gotMethod, gotPath, gotAuth, gotBody string
}

func (g *gatewayStub) start(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		g.gotMethod, g.gotPath, g.gotAuth, g.gotBody = r.Method, r.URL.Path, r.Header.Get("Authorization"), string(b)
		for k, v := range g.header {
			w.Header()[k] = v
		}
		w.WriteHeader(g.status)
		_, _ = io.WriteString(w, g.body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestConfiguration(t *testing.T) {
	g := &gatewayStub{status: http.StatusOK, header: http.Header{"Content-Type": {"application/json"}}, body: goodAnswer}
	ttl := int64(900)
	c, err := pionclient.New(g.start(t)+"/base/", pionclient.StaticToken("tok-123"),
		pionclient.Config{Request: wire.CredentialsRequest{TTLSeconds: &ttl, Transports: []string{"udp", "tls"}}})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := c.Configuration(t.Context())
	if err != nil {
		t.Fatalf("Configuration() error = %v", err)
	}
	if g.gotMethod != http.MethodPost || g.gotPath != "/base/v1/credentials" || g.gotAuth != "Bearer tok-123" {
		t.Errorf("request = %s %s %q; want POST /base/v1/credentials with the bearer token", g.gotMethod, g.gotPath, g.gotAuth)
	}
	var body wire.CredentialsRequest
	if err := json.Unmarshal([]byte(g.gotBody), &body); err != nil || body.TTLSeconds == nil || *body.TTLSeconds != 900 || len(body.Transports) != 2 {
		t.Errorf("request body = %s (%v); want ttl 900 and two transports", g.gotBody, err)
	}
	if cfg.ICETransportPolicy != webrtc.ICETransportPolicyRelay {
		t.Errorf("ICETransportPolicy = %v, want relay", cfg.ICETransportPolicy)
	}
	want := webrtc.ICEServer{
		URLs:     []string{"turn:203.0.113.5:3478?transport=udp", "turns:fra-1.relay.example:5349?transport=tcp"},
		Username: "1764113400:k1.abc", Credential: "c2VjcmV0", CredentialType: webrtc.ICECredentialTypePassword,
	}
	if len(cfg.ICEServers) != 1 || strings.Join(cfg.ICEServers[0].URLs, " ") != strings.Join(want.URLs, " ") ||
		cfg.ICEServers[0].Username != want.Username || cfg.ICEServers[0].Credential != want.Credential {
		t.Errorf("ICEServers = %+v, want [%+v]", cfg.ICEServers, want)
	}
}

func TestCredentialsErrors(t *testing.T) {
	problem := func(typ string, status int) string {
		return `{"type":"urn:relaygate:problem:` + typ + `","title":"t","status":` + strconv.Itoa(status) + `,"detail":"why"}`
	}
	pj := http.Header{"Content-Type": {"application/problem+json"}}
	tests := []struct {
		name        string
		status      int
		header      http.Header
		body        string
		wantStatus  int // 0: not a GatewayError
		wantType    string
		wantRetry   time.Duration
		wantTemp    bool
		wantBad     bool
		wantInError string
	}{
		{name: "rate limited with Retry-After", status: 429, header: http.Header{"Content-Type": {"application/problem+json"}, "Retry-After": {"7"}},
			body: problem("rate-limited", 429), wantStatus: 429, wantType: pionclient.ProblemRateLimited, wantRetry: 7 * time.Second, wantTemp: true,
			wantInError: "429 Too Many Requests: rate-limited (why); retry after 7s"},
		{name: "no relay available", status: 503, header: http.Header{"Content-Type": {"application/problem+json"}, "Retry-After": {"2"}},
			body: problem("no-relay-available", 503), wantStatus: 503, wantType: pionclient.ProblemNoRelayAvailable, wantRetry: 2 * time.Second, wantTemp: true},
		{name: "unauthorized", status: 401, header: pj, body: problem("unauthorized", 401), wantStatus: 401, wantType: pionclient.ProblemUnauthorized},
		{name: "proxy error page", status: 502, header: http.Header{"Content-Type": {"text/html"}}, body: "<html>bad gateway</html>",
			wantStatus: 502, wantTemp: true, wantInError: "502 Bad Gateway"},
		{name: "problem that is no JSON", status: 500, header: pj, body: "{", wantStatus: 500},
		{name: "200 that is no JSON", status: 200, body: "<html>", wantBad: true},
		{name: "no ice servers", status: 200, body: `{"ice_transport_policy":"relay","ice_servers":[]}`, wantBad: true, wantInError: "no ice_servers"},
		{name: "policy all", status: 200, body: strings.Replace(goodAnswer, `"relay"}`, `"all"}`, 1), wantBad: true, wantInError: "not relay"},
		{name: "stun only", status: 200, body: `{"ice_transport_policy":"relay","ice_servers":[{"urls":["stun:203.0.113.5"],"username":"u","credential":"c"}]}`,
			wantBad: true, wantInError: "not a turn: or turns: URI"},
		{name: "no credential", status: 200, body: `{"ice_transport_policy":"relay","ice_servers":[{"urls":["turn:203.0.113.5"],"username":"u"}]}`,
			wantBad: true, wantInError: "lacks a username or credential"},
		{name: "too long", status: 200, body: `{"x":"` + strings.Repeat("a", 70<<10) + `"}`, wantBad: true, wantInError: "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &gatewayStub{status: tt.status, header: tt.header, body: tt.body}
			c, err := pionclient.New(g.start(t), pionclient.StaticToken("secret-token-xyz"), pionclient.Config{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Credentials(t.Context())
			if err == nil {
				t.Fatal("Credentials() error = nil")
			}
			if strings.Contains(err.Error(), "secret-token-xyz") || strings.Contains(err.Error(), "c2VjcmV0") {
				t.Errorf("error %q repeats the token or credential", err)
			}
			if tt.wantInError != "" && !strings.Contains(err.Error(), tt.wantInError) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantInError)
			}
			if got := errors.Is(err, pionclient.ErrBadAnswer); got != tt.wantBad {
				t.Errorf("errors.Is(%v, ErrBadAnswer) = %v, want %v", err, got, tt.wantBad)
			}
			var ge *pionclient.GatewayError
			if !errors.As(err, &ge) {
				if tt.wantStatus != 0 {
					t.Fatalf("error %v is not a *GatewayError", err)
				}
				return
			}
			if ge.Status != tt.wantStatus || ge.Problem.Type != tt.wantType || ge.RetryAfter != tt.wantRetry || ge.Temporary() != tt.wantTemp {
				t.Errorf("GatewayError = %+v (temporary %v); want status %d, type %q, retry after %v, temporary %v",
					ge, ge.Temporary(), tt.wantStatus, tt.wantType, tt.wantRetry, tt.wantTemp)
			}
		})
	}
}

func TestCredentialsContextAndClient(t *testing.T) {
	t.Run("ctx bounds the request", func(t *testing.T) {
		hold := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-hold:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(srv.Close)
		defer close(hold)
		c, err := pionclient.New(srv.URL, pionclient.StaticToken("t"), pionclient.Config{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		if _, err := c.Credentials(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Credentials() error = %v, want DeadlineExceeded", err)
		}
	})
	t.Run("the injected client is used", func(t *testing.T) {
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, goodAnswer)
		}))
		t.Cleanup(srv.Close)
		def, err := pionclient.New(srv.URL, pionclient.StaticToken("t"), pionclient.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := def.Credentials(t.Context()); err == nil {
			t.Fatal("the default client trusted the test server's certificate")
		}
		c, err := pionclient.New(srv.URL, pionclient.StaticToken("t"), pionclient.Config{HTTPClient: srv.Client()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Credentials(t.Context()); err != nil {
			t.Errorf("Credentials() with the server's client: %v", err)
		}
	})
	t.Run("token source error", func(t *testing.T) {
		boom := errors.New("boom")
		c, err := pionclient.New("http://127.0.0.1:1", pionclient.TokenFunc(func(context.Context) (string, error) { return "", boom }), pionclient.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Credentials(t.Context()); !errors.Is(err, boom) {
			t.Errorf("Credentials() error = %v, want %v", err, boom)
		}
	})
}

func TestNewRejects(t *testing.T) {
	zero := int64(0)
	tests := []struct {
		name, url string
		tokens    pionclient.TokenSource
		cfg       pionclient.Config
		want      string
	}{
		{name: "bad url", url: "http://[::1", tokens: pionclient.StaticToken("t"), want: "does not parse"},
		{name: "ftp", url: "ftp://gw.example", tokens: pionclient.StaticToken("t"), want: `scheme "ftp"`},
		{name: "no host", url: "https:///x", tokens: pionclient.StaticToken("t"), want: "no host"},
		{name: "user info", url: "https://me:pw@gw.example", tokens: pionclient.StaticToken("t"), want: "user info"},
		{name: "query", url: "https://gw.example/?a=1", tokens: pionclient.StaticToken("t"), want: "query"},
		{name: "no tokens", url: "https://gw.example", want: "no token source"},
		{name: "bad request", url: "https://gw.example", tokens: pionclient.StaticToken("t"),
			cfg: pionclient.Config{Request: wire.CredentialsRequest{TTLSeconds: &zero}}, want: "ttl_seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pionclient.New(tt.url, tt.tokens, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New(%q) error = %v, want one containing %q", tt.url, err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "pw") {
				t.Errorf("New error %q repeats the URL's password", err)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"0", 0}, {"5", 5 * time.Second}, {" 5 ", 5 * time.Second}, {"-5", 0}, {"5s", 0}, {"1.5", 0},
		{"3600", time.Hour}, {"99999", time.Hour}, {"99999999999999999999999", time.Hour},
		{"Wed, 25 Nov 2026 12:00:30 GMT", 30 * time.Second},
		{"Wed, 25 Nov 2026 11:00:00 GMT", 0},
		{"Thu, 26 Nov 2026 12:00:00 GMT", time.Hour},
		{"tomorrow", 0},
	}
	for _, tt := range tests {
		if got := pionclient.ParseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
