package turnrelay

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/turnrelay/heartbeat"
	"github.com/relaygate/relaygate/turnrelay/heartbeat/heartbeattest"
)

// TestHeartbeatBody runs a real relay against an httptest gateway and
// checks the wire body field by field.
func TestHeartbeatBody(t *testing.T) {
	gw := &heartbeattest.Gateway{}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	cfg := Config{
		Secrets:        testSecrets(t),
		Listeners:      []Listener{{Transport: relay.UDP, Addr: "127.0.0.1:0"}, {Transport: relay.TCP, Addr: "127.0.0.1:0"}},
		PublicIPs:      []netip.Addr{netip.MustParseAddr("203.0.113.5"), netip.MustParseAddr("2001:db8::5")},
		MaxAllocations: 100, MaxBPS: 1e9, DrainTimeout: 10 * time.Millisecond,
		Heartbeat: heartbeat.Config{GatewayURL: srv.URL, NodeToken: "node-token-xyz", RelayID: "fra-1", Region: "eu-central",
			Site: "fra", Latitude: 50.11, Longitude: 8.68, Version: "0.1.0"},
	}
	s, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	testenv.Eventually(t, "a first heartbeat", 5*time.Second, 5*time.Millisecond, func() error {
		if gw.Count() < 1 {
			return errors.New("none yet")
		}
		return nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	puts := gw.Puts()
	if len(puts) < 2 {
		t.Fatalf("gateway got %d heartbeats, want a first one and a draining one", len(puts))
	}
	if first := puts[0]; first.Request != "PUT /v1/relays/fra-1" || first.Auth != "Bearer node-token-xyz" {
		t.Errorf("request = %s with %q", first.Request, first.Auth)
	}
	got, _ := json.Marshal(puts[0].Body)
	want := `{"addresses":["203.0.113.5","2001:db8::5"],"capacity":{"allocations":100,"bandwidth_bps":1000000000},` +
		`"draining":false,"latitude":50.11,"load":{"allocations":0,"bandwidth_bps":0},"longitude":8.68,` +
		`"ports":{"tcp":` + itoa(s.Addrs()[relay.TCP].Port()) + `,"udp":` + itoa(s.Addrs()[relay.UDP].Port()) + `},"region":"eu-central","site":"fra","version":"0.1.0"}`
	if string(got) != want {
		t.Errorf("heartbeat body =\n%s\nwant\n%s", got, want)
	}
	if last := puts[len(puts)-1].Body; last["draining"] != true {
		t.Errorf("last heartbeat draining = %v, want true", last["draining"])
	}
}
