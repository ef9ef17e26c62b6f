package pionclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/relaygate/relaygate/client/pionclient"
	"github.com/relaygate/relaygate/wire"
)

// clientAndPC is a client of the gateway at url and a peer connection on
// its API, closed when the test ends.
func clientAndPC(t *testing.T, url string) (*pionclient.Client, *webrtc.PeerConnection) {
	t.Helper()
	c, err := pionclient.New(url, pionclient.StaticToken(userToken), pionclient.Config{})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := c.API().NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return c, pc
}

// TestWatchRefusesBadConfig: a watch without the app's renegotiation, or
// with a refresh point outside the credentials' lifetime, does not start.
func TestWatchRefusesBadConfig(t *testing.T) {
	c, pc := clientAndPC(t, "https://gw.example")
	renegotiate := func(context.Context, webrtc.SessionDescription) error { return nil }
	for _, tc := range []struct {
		name string
		cfg  pionclient.WatchConfig
		want string
	}{
		{"no renegotiation", pionclient.WatchConfig{}, "no Renegotiate"},
		{"refresh after expiry", pionclient.WatchConfig{Renegotiate: renegotiate, RefreshAt: 1.2}, "refresh at 1.2"},
		{"negative stall", pionclient.WatchConfig{Renegotiate: renegotiate, Stall: -1}, "stall -1ns is negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := c.Watch(pc, wire.Credentials{}, tc.cfg)
			if err == nil {
				w.Stop()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Watch = %v; want an error saying %q", err, tc.want)
			}
		})
	}
}

// TestWatchRefreshHonoursRetryAfter: a refresh the gateway refuses (503,
// Retry-After 30) is reported and asked again only after the wait the
// gateway named, on the watcher's clock; the first ask comes at 80 % of
// the credentials' lifetime.
func TestWatchRefreshHonoursRetryAfter(t *testing.T) {
	var clock atomic.Int64 // seconds past t0 on the watcher's clock: one more per reading
	t0 := time.Unix(1_800_000_000, 0)
	now := func() time.Time { return t0.Add(time.Duration(clock.Add(1)) * time.Second) }
	asked := make(chan int64, 8) // the watcher's clock at each request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/credentials" {
			http.NotFound(w, r)
			return
		}
		asked <- clock.Load()
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"type":"urn:relaygate:problem:no-relay-available","title":"No relay available","status":503}`))
	}))
	defer srv.Close()
	c, pc := clientAndPC(t, srv.URL)
	errs := make(chan error, 8)
	w, err := c.Watch(pc, wire.Credentials{TTLSeconds: 100}, pionclient.WatchConfig{
		Renegotiate: func(context.Context, webrtc.SessionDescription) error { return nil },
		Poll:        time.Millisecond, Now: now, DrainCheck: -1,
		OnEvent: func(e pionclient.Event) {
			if e.Kind == pionclient.EventError {
				errs <- e.Err
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	first, second := <-asked, <-asked
	if first < 80 {
		t.Errorf("first refresh at %d s of a 100 s lifetime; want from 80 s", first)
	}
	if second-first < 30 {
		t.Errorf("asked again %d s after a 503 with Retry-After 30", second-first)
	}
	var ge *pionclient.GatewayError
	if err := <-errs; !errors.As(err, &ge) || ge.Status != http.StatusServiceUnavailable {
		t.Errorf("error event %v; want the gateway's 503", err)
	}
}
