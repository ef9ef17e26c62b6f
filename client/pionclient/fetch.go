package pionclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pion/stun/v4"

	"github.com/relaygate/relaygate/wire"
)

// maxAnswer bounds the answer we read: a Credentials document with two
// relays is about 1 KiB, a problem a few hundred bytes.
const maxAnswer = 64 << 10

// maxRetryAfter caps a Retry-After: a gateway asking for longer is broken
// or hostile, and an app should not wait a day on its word.
const maxRetryAfter = time.Hour

// Credentials asks the gateway for relays and TURN credentials (POST
// /v1/credentials with the user token). Any answer but 200 is a
// *GatewayError; a 200 that is not a usable Credentials document wraps
// ErrBadAnswer.
func (c *Client) Credentials(ctx context.Context) (wire.Credentials, error) {
	return c.CredentialsWith(ctx, nil)
}

// CredentialsWith is Credentials that also reports ms, RTTs the client
// measured to relays (Measure's), inline in the request, so that the
// gateway picks with them: the request is Config.Request with ms in
// place of its measurements (none when ms is empty).
func (c *Client) CredentialsWith(ctx context.Context, ms []wire.Measurement) (wire.Credentials, error) {
	body := c.body
	if len(ms) > 0 {
		req := c.req
		req.Measurements = ms
		if fe := req.Validate(); len(fe) > 0 {
			return wire.Credentials{}, fmt.Errorf("pionclient: measurements: %s %s", fe[0].Field, fe[0].Message)
		}
		b, err := json.Marshal(req)
		if err != nil {
			return wire.Credentials{}, fmt.Errorf("pionclient: encode request: %w", err)
		}
		body = b
	}
	status, h, answer, err := c.send(ctx, http.MethodPost, c.endpoint, body)
	if err != nil {
		return wire.Credentials{}, fmt.Errorf("pionclient: POST /v1/credentials: %w", err)
	}
	return decodeAnswer(status, h, answer, c.now())
}

// leave asks the gateway whether the client should move its call off
// relay (GET /v1/call-relays): true when it drains.
func (c *Client) leave(ctx context.Context, relay string) (bool, error) {
	var a wire.CallRelays
	if err := c.get(ctx, "call-relays", url.Values{"relay": {relay}}, "CallRelays", &a); err != nil {
		return false, err
	}
	for _, r := range a.Relays {
		if r.RelayID == relay && r.Leave {
			return true, nil
		}
	}
	return false, nil
}

// get asks the gateway GET /v1/<path>?<query> and decodes the 200 answer,
// a doc (its name in the spec, for errors), into v. Any other answer is a
// *GatewayError.
func (c *Client) get(ctx context.Context, path string, query url.Values, doc string, v any) error {
	u := c.base.JoinPath("v1", path)
	u.RawQuery = query.Encode()
	status, h, body, err := c.send(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("pionclient: GET /v1/%s: %w", path, err)
	}
	if status != http.StatusOK {
		return gatewayError(status, h, body, c.now())
	}
	if len(body) > maxAnswer || json.Unmarshal(body, v) != nil {
		return fmt.Errorf("%w: not a %s document", ErrBadAnswer, doc)
	}
	return nil
}

// send makes one request to the gateway with the user token, a JSON body
// when body is not nil, and returns the answer (at most maxAnswer+1 bytes
// of its body). Its errors name no token.
func (c *Client) send(ctx context.Context, method, endpoint string, body []byte) (int, http.Header, []byte, error) {
	token, err := c.tokens.Token(ctx)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("user token: %w", err)
	}
	var r io.Reader = http.NoBody
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, endpoint, r)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("read answer: %w", err)
	}
	return resp.StatusCode, resp.Header, b, nil
}

// decodeAnswer turns the gateway's answer into credentials or an error.
func decodeAnswer(status int, h http.Header, body []byte, now time.Time) (wire.Credentials, error) {
	if status != http.StatusOK {
		return wire.Credentials{}, gatewayError(status, h, body, now)
	}
	if len(body) > maxAnswer {
		return wire.Credentials{}, fmt.Errorf("%w: longer than %d bytes", ErrBadAnswer, maxAnswer)
	}
	var creds wire.Credentials
	if err := json.Unmarshal(body, &creds); err != nil {
		return wire.Credentials{}, fmt.Errorf("%w: not a Credentials document", ErrBadAnswer)
	}
	if err := checkCredentials(creds); err != nil {
		return wire.Credentials{}, fmt.Errorf("%w: %w", ErrBadAnswer, err)
	}
	return creds, nil
}

// gatewayError is the *GatewayError for an answer other than 200.
func gatewayError(status int, h http.Header, body []byte, now time.Time) *GatewayError {
	ge := &GatewayError{Status: status, RetryAfter: parseRetryAfter(h.Get("Retry-After"), now)}
	if mt, _, err := mime.ParseMediaType(h.Get("Content-Type")); err == nil &&
		(mt == "application/problem+json" || mt == "application/json") && len(body) <= maxAnswer {
		var p wire.Problem
		if json.Unmarshal(body, &p) == nil {
			ge.Problem = p
		}
	}
	return ge
}

// checkCredentials says what makes creds unusable for a relay-only call.
// Its messages name members, never their values.
func checkCredentials(creds wire.Credentials) error {
	if creds.ICETransportPolicy != wire.ICETransportPolicyRelay {
		return errors.New("ice_transport_policy is not relay")
	}
	if len(creds.ICEServers) == 0 {
		return errors.New("no ice_servers")
	}
	for i, s := range creds.ICEServers {
		if s.Username == "" || s.Credential == "" {
			return fmt.Errorf("ice_servers[%d] lacks a username or credential", i)
		}
		if len(s.URLs) == 0 {
			return fmt.Errorf("ice_servers[%d] has no urls", i)
		}
		for j, raw := range s.URLs {
			u, err := stun.ParseURI(raw)
			if err != nil {
				return fmt.Errorf("ice_servers[%d].urls[%d] is not a STUN/TURN URI", i, j)
			}
			if u.Scheme != stun.SchemeTypeTURN && u.Scheme != stun.SchemeTypeTURNS {
				return fmt.Errorf("ice_servers[%d].urls[%d] is not a turn: or turns: URI", i, j)
			}
		}
	}
	return nil
}

// parseRetryAfter reads a Retry-After field (RFC 9110 §10.2.3): whole
// seconds or an HTTP date. It returns 0 for an absent or invalid one, and
// caps it at maxRetryAfter.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if v[0] >= '0' && v[0] <= '9' {
		secs, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return maxRetryAfter
			}
			return 0
		}
		return min(time.Duration(min(secs, uint64(maxRetryAfter/time.Second)))*time.Second, maxRetryAfter)
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	return min(max(at.Sub(now), 0), maxRetryAfter)
}
