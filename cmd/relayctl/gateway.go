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

	"github.com/relaygate/relaygate/wire"
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
	Errors []wire.FieldError
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

// do sends one request to path (which may end in "?query"); a 2xx answer
// is decoded into out (when not nil) and its raw body returned.
func (g *gatewayClient) do(ctx context.Context, method, path string, body, out any) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	u := *g.base
	path, u.RawQuery, _ = strings.Cut(path, "?")
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
		var p wire.Problem
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

// fetchCredentials asks the gateway for credentials.
func (g *gatewayClient) fetchCredentials(ctx context.Context, req wire.CredentialsRequest) (wire.Credentials, []byte, error) {
	var cr wire.Credentials
	raw, err := g.do(ctx, http.MethodPost, "/v1/credentials", req, &cr)
	return cr, raw, err
}
