package turnrelay

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/turnrelay/heartbeat"
)

// gatewayRecorder accepts every heartbeat and keeps what it was sent.
type gatewayRecorder struct {
	mu   sync.Mutex // guards below
	puts []recordedPut
}

type recordedPut struct {
	request, auth string
	body          map[string]any
}

func (g *gatewayRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := recordedPut{request: r.Method + " " + r.URL.Path, auth: r.Header.Get("Authorization")}
	data, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(data, &p.body)
	g.mu.Lock()
	g.puts = append(g.puts, p)
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ttl_seconds":15,"heartbeat_interval_seconds":7}`)
}

func (g *gatewayRecorder) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.puts)
}

// TestHeartbeatBody runs a real relay against an httptest gateway and
// checks the wire body field by field.
func TestHeartbeatBody(t *testing.T) {
	gw := &gatewayRecorder{}
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
	if !pollUntil(5*time.Second, func() bool { return gw.count() >= 1 }) {
		t.Error("no heartbeat within 5s")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	gw.mu.Lock()
	defer gw.mu.Unlock()
	if len(gw.puts) < 2 {
		t.Fatalf("gateway got %d heartbeats, want a first one and a draining one", len(gw.puts))
	}
	if first := gw.puts[0]; first.request != "PUT /v1/relays/fra-1" || first.auth != "Bearer node-token-xyz" {
		t.Errorf("request = %s with %q", first.request, first.auth)
	}
	got, _ := json.Marshal(gw.puts[0].body)
	want := `{"addresses":["203.0.113.5","2001:db8::5"],"capacity":{"allocations":100,"bandwidth_bps":1000000000},` +
		`"draining":false,"latitude":50.11,"load":{"allocations":0,"bandwidth_bps":0},"longitude":8.68,` +
		`"ports":{"tcp":` + itoa(s.Addrs()[relay.TCP].Port()) + `,"udp":` + itoa(s.Addrs()[relay.UDP].Port()) + `},"region":"eu-central","site":"fra","version":"0.1.0"}`
	if string(got) != want {
		t.Errorf("heartbeat body =\n%s\nwant\n%s", got, want)
	}
	if last := gw.puts[len(gw.puts)-1].body; last["draining"] != true {
		t.Errorf("last heartbeat draining = %v, want true", last["draining"])
	}
}
