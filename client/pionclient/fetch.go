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
	token, err := c.tokens.Token(ctx)
	if err != nil {
		return wire.Credentials{}, fmt.Errorf("pionclient: user token: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(c.body))
	if err != nil {
		return wire.Credentials{}, fmt.Errorf("pionclient: credentials request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, application/problem+json")
	resp, err := c.http.Do(req)
	if err != nil {
		return wire.Credentials{}, fmt.Errorf("pionclient: POST /v1/credentials: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return wire.Credentials{}, fmt.Errorf("pionclient: POST /v1/credentials: read answer: %w", err)
	}
	return decodeAnswer(resp.StatusCode, resp.Header, body, c.now())
}

// decodeAnswer turns the gateway's answer into credentials or an error.
func decodeAnswer(status int, h http.Header, body []byte, now time.Time) (wire.Credentials, error) {
	if status != http.StatusOK {
		ge := &GatewayError{Status: status, RetryAfter: parseRetryAfter(h.Get("Retry-After"), now)}
		if mt, _, err := mime.ParseMediaType(h.Get("Content-Type")); err == nil &&
			(mt == "application/problem+json" || mt == "application/json") && len(body) <= maxAnswer {
			var p wire.Problem
			if json.Unmarshal(body, &p) == nil {
				ge.Problem = p
			}
		}
		return wire.Credentials{}, ge
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
