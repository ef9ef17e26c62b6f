package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxAnswerBytes bounds what we read from the gateway; its largest answer
// (the registry of a big deployment) is far below.
const maxAnswerBytes = 8 << 20

// apiError is a non-2xx answer of the gateway, from its problem+json body.
type apiError struct {
	Status int
	Type   string
	Title  string
	Detail string
	Errors []fieldError
}

type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gateway answered %d", e.Status)
	if e.Title != "" {
		fmt.Fprintf(&b, " %s", e.Title)
	} else if t := http.StatusText(e.Status); t != "" {
		fmt.Fprintf(&b, " %s", t)
	}
	if e.Detail != "" {
		fmt.Fprintf(&b, ": %s", e.Detail)
	}
	for _, f := range e.Errors {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Message)
	}
	if e.Type != "" {
		fmt.Fprintf(&b, " (%s)", e.Type)
	}
	return b.String()
}

// netError is a failure to reach the gateway.
type netError struct {
	gateway string
	err     error
}

func (e *netError) Error() string {
	var ue *url.Error
	err := e.err
	if errors.As(err, &ue) {
		err = ue.Err // the URL is said once, below
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("cannot reach the gateway at %s: no answer within the timeout (--timeout)", e.gateway)
	}
	return fmt.Sprintf("cannot reach the gateway at %s: %v", e.gateway, err)
}

func (e *netError) Unwrap() error { return e.err }

// gatewayClient calls relaygate's API.
type gatewayClient struct {
	base    *url.URL
	token   string
	timeout time.Duration
	hc      *http.Client
}

// gatewayClient checks the global flags and returns a client. needToken
// names the kind of token the command needs, "" for none.
func (c *cli) gatewayClient(needToken string) (*gatewayClient, error) {
	u, err := url.Parse(c.gateway)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usagef("--gateway %q: want an http:// or https:// URL", c.gateway)
	}
	if u.User != nil {
		return nil, usageError{"--gateway: credentials in the URL are not supported; use --token"}
	}
	if c.timeout <= 0 {
		return nil, usagef("--timeout %v must be positive", c.timeout)
	}
	if needToken != "" && c.token == "" {
		return nil, usagef("this command needs %s: --token or %sTOKEN", needToken, envPrefix)
	}
	return &gatewayClient{base: u, token: c.token, timeout: c.timeout, hc: &http.Client{}}, nil
}

// do sends one request; a 2xx answer is decoded into out (when not nil)
// and its raw body returned.
func (g *gatewayClient) do(ctx context.Context, method, path string, body, out any) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	u := *g.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), r)
	if err != nil {
		return nil, usagef("--gateway: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("User-Agent", "relayctl/"+version)
	if g.token != "" {
		req.Header.Set("Authorization", "Bearer "+g.token)
	}
	resp, err := g.hc.Do(req)
	if err != nil {
		return nil, &netError{gateway: g.base.String(), err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return nil, &netError{gateway: g.base.String(), err: fmt.Errorf("read answer: %w", err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ae := &apiError{Status: resp.StatusCode}
		var p struct {
			Type   string       `json:"type"`
			Title  string       `json:"title"`
			Detail string       `json:"detail"`
			Errors []fieldError `json:"errors"`
		}
		if json.Unmarshal(data, &p) == nil {
			ae.Type, ae.Title, ae.Detail, ae.Errors = p.Type, p.Title, p.Detail, p.Errors
		}
		return nil, ae
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return nil, fmt.Errorf("%s %s: the gateway's answer is not what the API promises: %w", method, path, err)
		}
	}
	return data, nil
}

// Wire types, with the names of openapi.yaml.

type credentialsRequest struct {
	TTLSeconds int      `json:"ttl_seconds,omitempty"`
	Transports []string `json:"transports,omitempty"`
}

type relayChoice struct {
	RelayID        string   `json:"relay_id"`
	Region         string   `json:"region"`
	Site           string   `json:"site"`
	Hostname       string   `json:"hostname,omitempty"`
	URLs           []string `json:"urls"`
	EstimatedRTTMS *float64 `json:"estimated_rtt_ms,omitempty"`
	Basis          string   `json:"basis"`
}

type iceServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username"`
	Credential string   `json:"credential"`
}

type credentials struct {
	Username           string       `json:"username"`
	Credential         string       `json:"credential"`
	TTLSeconds         int          `json:"ttl_seconds"`
	ExpiresAt          time.Time    `json:"expires_at"`
	Primary            relayChoice  `json:"primary"`
	Backup             *relayChoice `json:"backup,omitempty"`
	ICEServers         []iceServer  `json:"ice_servers"`
	ICETransportPolicy string       `json:"ice_transport_policy"`
}

func (c credentials) relays() []relayChoice {
	out := []relayChoice{c.Primary}
	if c.Backup != nil {
		out = append(out, *c.Backup)
	}
	return out
}

type measurement struct {
	RelayID string  `json:"relay_id"`
	RTTMS   float64 `json:"rtt_ms"`
	Loss    float64 `json:"loss"`
}

type measurementsRequest struct {
	Measurements []measurement `json:"measurements"`
}

type measurementsAnswer struct {
	Accepted int `json:"accepted"`
}

type resources struct {
	Allocations  int64 `json:"allocations"`
	BandwidthBPS int64 `json:"bandwidth_bps"`
}

type probeFigures struct {
	RTTMS    *float64  `json:"rtt_ms,omitempty"`
	MinRTTMS *float64  `json:"min_rtt_ms,omitempty"`
	JitterMS *float64  `json:"jitter_ms,omitempty"`
	Loss     *float64  `json:"loss,omitempty"`
	Health   string    `json:"health,omitempty"`
	ProbedAt time.Time `json:"probed_at"`
}

type relayStatus struct {
	ID                  string         `json:"id"`
	Region              string         `json:"region"`
	Site                string         `json:"site"`
	Addresses           []string       `json:"addresses"`
	Hostname            string         `json:"hostname,omitempty"`
	Ports               map[string]int `json:"ports"`
	Capacity            resources      `json:"capacity"`
	Load                resources      `json:"load"`
	Draining            bool           `json:"draining"`
	Drained             bool           `json:"drained"`
	Version             string         `json:"version,omitempty"`
	LastSeen            time.Time      `json:"last_seen"`
	HeartbeatAgeSeconds float64        `json:"heartbeat_age_seconds"`
	State               string         `json:"state"`
	Probe               *probeFigures  `json:"probe,omitempty"`
}

type relayList struct {
	Relays []relayStatus `json:"relays"`
}

// fetchCredentials asks the gateway for credentials.
func (g *gatewayClient) fetchCredentials(ctx context.Context, req credentialsRequest) (credentials, []byte, error) {
	var cr credentials
	raw, err := g.do(ctx, http.MethodPost, "/v1/credentials", req, &cr)
	return cr, raw, err
}
