// Package heartbeattest is a fake gateway for tests of the heartbeat
// client and of relays that heartbeat: it records every heartbeat and
// answers with scripted statuses. It is for tests only.
package heartbeattest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Gateway records heartbeats. It answers the n-th with Answers[n] (200
// past the end): 200 carries an ack asking for a 7 s interval, with the
// drain mark SetDrained set and, when the heartbeat carried a usage
// report, its seq as usage_ack; any other status a problem+json body of type
// .../unavailable with Detail as its detail, and RetryAfter as its
// Retry-After header unless empty. Set Answers, RetryAfter, Detail, Delay
// and Now before the first heartbeat.
type Gateway struct {
	Answers    []int            // status per heartbeat; past the end 200
	RetryAfter string           // Retry-After of refusals; "" sends none
	Detail     string           // the problem detail of refusals; "" sends none
	Delay      time.Duration    // how long each answer takes (a gateway waiting on its store)
	Now        func() time.Time // arrival clock; default time.Now (fake time inside synctest)

	mu      sync.Mutex // guards below
	puts    []Put
	drained bool
}

// SetDrained sets the operator drain mark the next acks carry.
func (g *Gateway) SetDrained(drained bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.drained = drained
}

// Put is one recorded heartbeat.
type Put struct {
	Request string         // method and path, "PUT /v1/relays/fra-1"
	Auth    string         // the Authorization header
	Body    map[string]any // the JSON body, nil when it did not parse
	At      time.Time      // arrival, on Now
}

// ServeHTTP records r and answers it.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := Put{Request: r.Method + " " + r.URL.Path, Auth: r.Header.Get("Authorization"), At: g.now()}
	data, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(data, &p.Body)
	g.mu.Lock()
	n := len(g.puts)
	g.puts = append(g.puts, p)
	drained := g.drained
	g.mu.Unlock()
	time.Sleep(g.Delay) // fake time inside synctest
	if n < len(g.Answers) && g.Answers[n] != http.StatusOK {
		w.Header().Set("Content-Type", "application/problem+json")
		if g.RetryAfter != "" {
			w.Header().Set("Retry-After", g.RetryAfter)
		}
		w.WriteHeader(g.Answers[n])
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "https://relaygate.dev/problems/unavailable", "status": g.Answers[n], "detail": g.Detail})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	ack := ""
	if u, ok := p.Body["usage"].(map[string]any); ok {
		if seq, ok := u["seq"].(float64); ok {
			ack = fmt.Sprintf(`,"usage_ack":%d`, uint64(seq))
		}
	}
	_, _ = fmt.Fprintf(w, `{"ttl_seconds":15,"heartbeat_interval_seconds":7,"drained":%t%s}`, drained, ack)
}

func (g *Gateway) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

// Puts returns the heartbeats recorded so far, oldest first.
func (g *Gateway) Puts() []Put {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Put(nil), g.puts...)
}

// Count is the number of heartbeats recorded so far.
func (g *Gateway) Count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.puts)
}

// Client is an HTTP client that calls g in-process, without sockets, so a
// heartbeat client can run inside a synctest bubble.
func (g *Gateway) Client() *http.Client { return &http.Client{Transport: inProcess{g}} }

type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}
