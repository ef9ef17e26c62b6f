package heartbeat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/relaygate/relaygate/relay"
)

// Node is what a heartbeat says about the relay that does not change while
// it runs.
type Node struct {
	Addresses      []netip.Addr // advertised relayed addresses, at most one per family
	Ports          relay.Ports  // listening port per transport; 0 is not offered
	MaxAllocations int64        // capacity in allocations; 0 is no limit
	MaxBPS         int64        // capacity in relayed bits per second; 0 is no limit
}

// Status is the live part of a heartbeat.
type Status struct {
	Allocations  int64 // live allocations
	BandwidthBPS int64 // relayed bits per second since the previous heartbeat
	Draining     bool  // the node takes no new allocations
}

// Bounds on the gateway's heartbeat_interval_seconds: obeyed inside them.
const (
	minInterval  = time.Second
	maxInterval  = 5 * time.Minute
	firstBackoff = time.Second
)

// Client PUTs the node's state to the gateway until its Run ends.
type Client struct {
	cfg    Config
	url    string
	static body
	status func() Status
	log    *slog.Logger
	kickCh chan struct{}
	// drainSent is closed once a heartbeat saying draining was attempted.
	drainSent chan struct{}
	// ok, failed and streak are Stats', written by Run's goroutine.
	ok, failed atomic.Uint64
	streak     atomic.Int64

	// used by Run's goroutine only
	failures   int
	lastLog    time.Time
	suppressed int
	drainShown bool
	drained    bool // the operator's drain mark as the gateway last said: reasserted in every heartbeat
	registered bool // a heartbeat has succeeded
}

// New returns a client that reports node and what status returns at each
// heartbeat. It starts nothing; call Run.
func New(cfg Config, node Node, status func() Status, log *slog.Logger) (*Client, error) {
	switch {
	case cfg.GatewayURL == "":
		return nil, errors.New("heartbeat: no gateway-url")
	case status == nil || log == nil:
		return nil, errors.New("heartbeat: nil status func or logger")
	}
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("heartbeat: config: %w", err)
	}
	u, err := url.JoinPath(cfg.GatewayURL, "v1", "relays", cfg.RelayID)
	if err != nil {
		return nil, fmt.Errorf("heartbeat: gateway-url: %w", err)
	}
	return &Client{cfg: cfg, url: u, static: newBody(cfg, node), status: status, log: log,
		kickCh: make(chan struct{}, 1), drainSent: make(chan struct{})}, nil
}

// Stats counts heartbeats, for metrics.
type Stats struct {
	OK, Failed          uint64 // heartbeats the gateway accepted, and those that failed
	ConsecutiveFailures int64  // failures since the last accepted heartbeat
}

// Stats returns the heartbeat counts so far. It is safe to call while Run
// runs.
func (c *Client) Stats() Stats {
	return Stats{OK: c.ok.Load(), Failed: c.failed.Load(), ConsecutiveFailures: c.streak.Load()}
}

// Kick asks for a heartbeat now (draining started); it never blocks.
func (c *Client) Kick() {
	select {
	case c.kickCh <- struct{}{}:
	default:
	}
}

// WaitDrainReported waits until a heartbeat saying draining was attempted,
// at most one HTTPTimeout or until ctx ends, so the gateway hears of a
// drain before the node goes.
func (c *Client) WaitDrainReported(ctx context.Context) {
	t := time.NewTimer(c.cfg.HTTPTimeout)
	defer t.Stop()
	select {
	case <-c.drainSent:
	case <-t.C:
	case <-ctx.Done():
	}
}

// Run heartbeats until ctx ends, then returns nil: at once, then every
// interval (the gateway's heartbeat_interval_seconds once it has said so).
// After a failure it tries again as retry says. Waits count from when a
// heartbeat was sent, not from its answer, so a slow gateway (one whose
// store times out, say) does not stretch the relay's cadence.
func (c *Client) Run(ctx context.Context) error {
	interval := c.cfg.Interval
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-c.kickCh:
		}
		sent := time.Now()
		a, err := c.send(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var next time.Duration
		if err != nil {
			c.failures++
			c.failed.Add(1)
			c.streak.Store(int64(c.failures))
			next = c.retry(err, interval)
			c.logFailure(err, next)
		} else {
			c.ok.Add(1)
			c.streak.Store(0)
			if a.interval > 0 {
				interval = min(max(a.interval, minInterval), maxInterval)
			}
			switch {
			case !c.registered:
				c.registered = true
				c.log.Info("registered with the gateway", "relay_id", c.cfg.RelayID, "heartbeat_interval", interval.String())
			case c.failures > 0:
				c.log.Info("registered with the gateway again", "relay_id", c.cfg.RelayID,
					"heartbeat_interval", interval.String(), "failed_attempts", c.failures)
			}
			c.failures, c.suppressed = 0, 0
			if c.cfg.Revoked != nil {
				c.cfg.Revoked(a.revoked)
			}
			if a.usageAck != 0 && c.cfg.Usage != nil {
				c.cfg.Usage.Ack(a.usageAck)
			}
			if a.drained != c.drained {
				c.drained = a.drained
				c.log.Info("operator drain mark", "drained", a.drained)
			}
			next = interval
		}
		t.Reset(max(next-time.Since(sent), 0))
	}
}

// retry is the wait after a failed heartbeat. When the gateway answered
// with Retry-After, that (at least a second), and after a 503 without it
// the backoff; either at most the heartbeat interval: a gateway whose store
// is down turns heartbeats away, and a relay that comes back within its
// interval is registered again within one interval of the store's return
// (and never stays away long enough to expire). Anything else (no answer,
// another status) waits the exponential backoff, up to MaxBackoff.
func (c *Client) retry(err error, interval time.Duration) time.Duration {
	d := c.backoff(c.failures)
	var ae *answerError
	switch {
	case !errors.As(err, &ae):
		return d
	case ae.retryAfter > 0:
		return min(max(ae.retryAfter, minInterval), interval)
	case ae.status == http.StatusServiceUnavailable:
		return min(d, interval)
	}
	return d
}

// backoff is the wait after the n-th consecutive failure: 1s doubling up to
// MaxBackoff, uniformly jittered over its upper half so relays that lost the
// gateway together do not return in step.
func (c *Client) backoff(n int) time.Duration {
	d := c.cfg.MaxBackoff
	if n < 32 {
		d = min(firstBackoff<<(n-1), c.cfg.MaxBackoff)
	}
	return d/2 + time.Duration(c.cfg.Rand()*float64(d/2))
}

// logFailure logs the first failure of a streak at Warn, then at most once
// per LogEvery with the count of attempts it did not log.
func (c *Client) logFailure(err error, retry time.Duration) {
	now := c.cfg.Now()
	if c.failures > 1 && now.Sub(c.lastLog) < c.cfg.LogEvery {
		c.suppressed++
		return
	}
	c.lastLog = now
	c.log.Warn("heartbeat failed", "err", err.Error(), "failed_attempts", c.failures,
		"unlogged_attempts", c.suppressed, "retry_in_ms", retry.Milliseconds())
	c.suppressed = 0
}

// send PUTs one heartbeat, with the drain mark the relay reasserts, and
// returns what the gateway's answer says.
func (c *Client) send(ctx context.Context) (ack, error) {
	st := c.status()
	if st.Draining && !c.drainShown {
		c.drainShown = true
		defer close(c.drainSent)
	}
	var report *relay.UsageReport
	if c.cfg.Usage != nil {
		report = c.cfg.Usage.Report()
	}
	buf, err := c.static.encode(st, c.drained, report)
	if err != nil {
		return ack{}, fmt.Errorf("encode heartbeat: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.HTTPTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.url, bytes.NewReader(buf))
	if err != nil {
		return ack{}, fmt.Errorf("build heartbeat request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("Authorization", "Bearer "+c.cfg.NodeToken)
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		// *url.Error names the URL: ours, no secret in it.
		return ack{}, fmt.Errorf("put heartbeat: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return ack{}, fmt.Errorf("read heartbeat answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return ack{}, newAnswerError(resp, data, c.cfg.Now())
	}
	a, err := decodeAck(data)
	if err != nil {
		return ack{}, fmt.Errorf("decode heartbeat answer: %w", err)
	}
	return a, nil
}

// answerError is a heartbeat the gateway refused: its status, problem type
// and detail, and Retry-After.
type answerError struct {
	status     int
	typ        string        // problem type; "" when none (or not a printable one)
	detail     string        // the problem's detail, cut to maxDetail; "" when none
	retryAfter time.Duration // 0: none
}

// maxDetail bounds the gateway's detail in a log line; the gateway's own
// are one sentence.
const maxDetail = 300

// newAnswerError reads a refused heartbeat's answer at now.
func newAnswerError(resp *http.Response, data []byte, now time.Time) *answerError {
	e := &answerError{status: resp.StatusCode, retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), now)}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/problem+json" {
		p := decodeProblem(data)
		if len(p.Type) <= 200 && !strings.ContainsAny(p.Type, "\r\n") {
			e.typ = p.Type
		}
		e.detail = printable(p.Detail, maxDetail)
	}
	return e
}

// Error describes the refusal by status, problem type and the gateway's
// detail (its own words: no client data).
func (e *answerError) Error() string {
	msg := fmt.Sprintf("gateway answered %d", e.status)
	if e.typ != "" {
		msg += " type " + e.typ
	}
	if e.detail != "" {
		msg += ": " + e.detail
	}
	return msg
}

// printable is s with control characters as spaces, cut to at most n
// bytes on a rune boundary, so a gateway cannot forge or flood log lines.
func printable(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// parseRetryAfter reads a Retry-After header (RFC 9110 §10.2.3): delay
// seconds or an HTTP-date, as a wait from now of at most maxInterval; 0
// when absent, unreadable or not in the future.
func parseRetryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if n, err := strconv.ParseUint(h, 10, 64); err == nil {
		return time.Duration(min(n, uint64(maxInterval/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return min(max(t.Sub(now), 0), maxInterval)
	}
	return 0
}
