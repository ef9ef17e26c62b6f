package turnrelay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Wire structs of PUT /v1/relays/{id}, the shape of openapi.yaml's
// Heartbeat and HeartbeatAck (own copies: turnrelay does not import api).
type heartbeatBody struct {
	Region    string         `json:"region"`
	Site      string         `json:"site"`
	Latitude  float64        `json:"latitude"`
	Longitude float64        `json:"longitude"`
	Addresses []string       `json:"addresses"`
	Hostname  string         `json:"hostname,omitempty"`
	Ports     heartbeatPorts `json:"ports"`
	Capacity  resources      `json:"capacity"`
	Load      resources      `json:"load"`
	Draining  bool           `json:"draining"`
	Version   string         `json:"version"`
}

type heartbeatPorts struct {
	UDP int `json:"udp,omitempty"`
	TCP int `json:"tcp,omitempty"`
	TLS int `json:"tls,omitempty"`
}

type resources struct {
	Allocations  int64 `json:"allocations"`
	BandwidthBPS int64 `json:"bandwidth_bps"`
}

type heartbeatAck struct {
	TTLSeconds               int `json:"ttl_seconds"`
	HeartbeatIntervalSeconds int `json:"heartbeat_interval_seconds"`
}

type problemBody struct {
	Type   string `json:"type"`
	Status int    `json:"status"`
}

type heartbeatStatus struct {
	Allocations, BandwidthBPS int64
	Draining                  bool
}

// Bounds on the gateway's heartbeat_interval_seconds: obeyed inside them.
const (
	minHeartbeatInterval = time.Second
	maxHeartbeatInterval = 5 * time.Minute
	firstBackoff         = time.Second
)

// heartbeater PUTs the node's state to the gateway. It runs in its own
// goroutine and only reads atomics of the relay: a slow or absent gateway
// never delays relaying.
type heartbeater struct {
	cfg    HeartbeatConfig
	url    string
	static heartbeatBody
	status func() heartbeatStatus
	log    *slog.Logger
	kickCh chan struct{}
	// drainSent is closed once a heartbeat saying draining was attempted.
	drainSent chan struct{}

	// used by run's goroutine only
	failures   int
	lastLog    time.Time
	suppessed  int
	drainShown bool
}

func newHeartbeater(cfg HeartbeatConfig, static heartbeatBody, status func() heartbeatStatus, log *slog.Logger) *heartbeater {
	cfg = cfg.withDefaults()
	u, _ := url.JoinPath(cfg.GatewayURL, "v1", "relays", cfg.RelayID) // validated in Config
	return &heartbeater{cfg: cfg, url: u, static: static, status: status, log: log,
		kickCh: make(chan struct{}, 1), drainSent: make(chan struct{})}
}

// kick asks for a heartbeat now (draining started).
func (h *heartbeater) kick() {
	select {
	case h.kickCh <- struct{}{}:
	default:
	}
}

// run heartbeats until ctx ends: at once, then every interval (the
// gateway's heartbeat_interval_seconds once it has said so); after a
// failure, again after an exponential backoff with jitter.
func (h *heartbeater) run(ctx context.Context) {
	interval := h.cfg.Interval
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-h.kickCh:
		}
		ack, err := h.send(ctx)
		if ctx.Err() != nil {
			return
		}
		next := interval
		if err != nil {
			h.failures++
			next = h.backoff(h.failures)
			h.logFailure(err, next)
		} else {
			if h.failures > 0 {
				h.log.Info("gateway reachable again", "failed_attempts", h.failures)
			}
			h.failures, h.suppessed = 0, 0
			if ack.HeartbeatIntervalSeconds > 0 {
				interval = min(max(time.Duration(ack.HeartbeatIntervalSeconds)*time.Second, minHeartbeatInterval), maxHeartbeatInterval)
			}
			next = interval
		}
		t.Reset(next)
	}
}

// backoff is the wait after the n-th consecutive failure: 1s doubling up to
// MaxBackoff, uniformly jittered over its upper half so relays that lost the
// gateway together do not return in step.
func (h *heartbeater) backoff(n int) time.Duration {
	d := h.cfg.MaxBackoff
	if n < 32 {
		d = min(firstBackoff<<(n-1), h.cfg.MaxBackoff)
	}
	return d/2 + time.Duration(h.cfg.Rand()*float64(d/2))
}

// logFailure logs the first failure of a streak at Warn, then at most once
// per LogEvery with the count of attempts it did not log.
func (h *heartbeater) logFailure(err error, retry time.Duration) {
	now := time.Now()
	if h.failures > 1 && now.Sub(h.lastLog) < h.cfg.LogEvery {
		h.suppessed++
		return
	}
	h.lastLog = now
	h.log.Warn("heartbeat failed", "err", err.Error(), "failed_attempts", h.failures,
		"unlogged_attempts", h.suppessed, "retry_in_ms", retry.Milliseconds())
	h.suppessed = 0
}

func (h *heartbeater) send(ctx context.Context) (heartbeatAck, error) {
	body := h.static
	st := h.status()
	body.Load = resources{Allocations: st.Allocations, BandwidthBPS: st.BandwidthBPS}
	body.Draining = st.Draining
	if st.Draining && !h.drainShown {
		h.drainShown = true
		defer close(h.drainSent)
	}
	buf, err := json.Marshal(body)
	if err != nil {
		return heartbeatAck{}, fmt.Errorf("encode heartbeat: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.HTTPTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, h.url, bytes.NewReader(buf))
	if err != nil {
		return heartbeatAck{}, fmt.Errorf("build heartbeat request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("Authorization", "Bearer "+h.cfg.NodeToken)
	resp, err := h.cfg.HTTPClient.Do(req)
	if err != nil {
		// *url.Error names the URL: ours, no secret in it.
		return heartbeatAck{}, fmt.Errorf("put heartbeat: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return heartbeatAck{}, fmt.Errorf("read heartbeat answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return heartbeatAck{}, gatewayError(resp, data)
	}
	var ack heartbeatAck
	if err := json.Unmarshal(data, &ack); err != nil {
		return heartbeatAck{}, fmt.Errorf("decode heartbeat answer: %w", err)
	}
	return ack, nil
}

// gatewayError describes a refused heartbeat by status and problem type.
func gatewayError(resp *http.Response, data []byte) error {
	msg := fmt.Sprintf("gateway answered %d", resp.StatusCode)
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/problem+json" {
		var p problemBody
		if json.Unmarshal(data, &p) == nil && p.Type != "" && len(p.Type) <= 200 && !strings.ContainsAny(p.Type, "\r\n") {
			msg += " type " + p.Type
		}
	}
	return errors.New(msg)
}
