package pionclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"

	"github.com/relaygate/relaygate/wire"
)

// TokenSource hands out the user token (a JWT the app's backend issued)
// that authorizes one POST /v1/credentials. It is asked once per request,
// so it may refresh.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// TokenFunc adapts a function to TokenSource.
type TokenFunc func(ctx context.Context) (string, error)

// Token calls f.
func (f TokenFunc) Token(ctx context.Context) (string, error) { return f(ctx) }

// StaticToken is a TokenSource that always hands out token.
func StaticToken(token string) TokenSource {
	return TokenFunc(func(context.Context) (string, error) { return token, nil })
}

// Config configures a Client; its zero value works.
type Config struct {
	// HTTPClient sends the requests to the gateway; default a client with
	// a 10 s timeout. Each call's context bounds its request too.
	HTTPClient *http.Client
	// Request is the body of POST /v1/credentials (lifetime, transports,
	// the app's own RTT measurements); zero asks for the gateway's
	// defaults.
	Request wire.CredentialsRequest
	// Settings tunes pion's SettingEngine (timeouts, loggers, DTLS) before
	// Harden runs on it; Harden's settings win. Default none.
	Settings func(*webrtc.SettingEngine)
	// APIOptions go to webrtc.NewAPI (a MediaEngine, an interceptor
	// registry) before the hardened SettingEngine. Default none.
	APIOptions []func(*webrtc.API)
	// Net is the network under the hardened one; default the host's.
	Net transport.Net
	// Now reads the clock, for Retry-After given as a date; default
	// time.Now.
	Now func() time.Time
}

// defaultHTTPTimeout bounds one request when the app brings no client:
// the gateway answers from memory in milliseconds, so ten seconds is
// only ever reached when it or the path to it is down.
const defaultHTTPTimeout = 10 * time.Second

func (c Config) withDefaults() Config {
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	for _, fe := range c.Request.Validate() {
		errs = append(errs, fmt.Errorf("request %s: %s", fe.Field, fe.Message))
	}
	return errors.Join(errs...)
}

// Client fetches relays and credentials from one gateway and makes
// hardened peer connections with them. It is safe for concurrent use.
type Client struct {
	endpoint string   // POST /v1/credentials
	base     *url.URL // the gateway's base URL
	tokens   TokenSource
	req      wire.CredentialsRequest
	net      transport.Net // hardened, for the pre-call measurement
	http     *http.Client
	body     []byte
	api      *webrtc.API
	now      func() time.Time
}

// New returns a client for the gateway at gatewayURL (its base,
// "https://gw.example.com"), authorizing with tokens. It does no I/O.
func New(gatewayURL string, tokens TokenSource, cfg Config) (*Client, error) {
	u, err := url.Parse(gatewayURL)
	switch {
	case err != nil:
		return nil, errors.New("pionclient: gateway URL does not parse") // url's error would repeat it
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("pionclient: gateway URL scheme %q, want https or http", u.Scheme)
	case u.Host == "":
		return nil, errors.New("pionclient: gateway URL has no host")
	case u.User != nil:
		return nil, errors.New("pionclient: gateway URL carries user info; pass the token through tokens")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, errors.New("pionclient: gateway URL has a query or fragment")
	case tokens == nil:
		return nil, errors.New("pionclient: no token source")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("pionclient: config: %w", err)
	}
	body, err := json.Marshal(cfg.Request)
	if err != nil {
		return nil, fmt.Errorf("pionclient: encode request: %w", err)
	}
	api, err := NewAPI(cfg.Settings, cfg.Net, cfg.APIOptions...)
	if err != nil {
		return nil, err
	}
	sealed, err := hardenedNet(cfg.Net)
	if err != nil {
		return nil, err
	}
	return &Client{
		endpoint: u.JoinPath("v1", "credentials").String(), base: u, req: cfg.Request,
		tokens: tokens, http: cfg.HTTPClient, body: body, api: api, now: cfg.Now, net: sealed,
	}, nil
}

// API is the hardened pion API the client makes peer connections with,
// for apps that build them themselves (with Configuration).
func (c *Client) API() *webrtc.API { return c.api }

// Configuration asks the gateway for credentials and returns the
// relay-only configuration built from them.
func (c *Client) Configuration(ctx context.Context) (webrtc.Configuration, error) {
	creds, err := c.Credentials(ctx)
	if err != nil {
		return webrtc.Configuration{}, err
	}
	return Configuration(creds), nil
}

// NewPeerConnection asks the gateway for credentials and returns a
// hardened, relay-only peer connection using its relays. Signal its
// descriptions with LocalDescription, its trickled candidates through
// OnICECandidate.
func (c *Client) NewPeerConnection(ctx context.Context) (*webrtc.PeerConnection, error) {
	cfg, err := c.Configuration(ctx)
	if err != nil {
		return nil, err
	}
	pc, err := c.api.NewPeerConnection(cfg)
	if err != nil {
		return nil, fmt.Errorf("pionclient: new peer connection: %w", err)
	}
	return pc, nil
}

// Configuration is the relay-only configuration for creds: its ICE
// servers (TURN URLs, username and credential) and ICETransportPolicyRelay,
// whatever the answer said. It is for NewAPI's or Client.API's peer
// connections: with a plain pion API the relay candidates still carry the
// local address (see the package comment).
func Configuration(creds wire.Credentials) webrtc.Configuration {
	cfg := webrtc.Configuration{ICETransportPolicy: webrtc.ICETransportPolicyRelay}
	for _, s := range creds.ICEServers {
		cfg.ICEServers = append(cfg.ICEServers, webrtc.ICEServer{
			URLs: slices.Clone(s.URLs), Username: s.Username, Credential: s.Credential,
			CredentialType: webrtc.ICECredentialTypePassword,
		})
	}
	return cfg
}
