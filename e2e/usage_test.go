package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/turn/v5"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/turnrelay/relaytest"
	"github.com/relaygate/relaygate/turnrelay/turncred"
	"github.com/relaygate/relaygate/wire"
)

// usageRelaynode is a relaynode binary heartbeating into gateway as lo-1,
// relaying to loopback peers.
func usageRelaynode(t *testing.T, turnSecret, gateway string) *testenv.Proc {
	t.Helper()
	p := startProc(t, "relaynode", []string{"RELAYNODE_SECRETS=k1:" + turnSecret,
		"RELAYNODE_NODE_TOKEN=" + testenv.Token(t, nodeJWTSecret, "lo-1", time.Hour)}, nil, nil,
		buildCmd(t, "relaynode"), "--id=lo-1", "--region=local", "--site=lab", "--lat=50.1", "--lon=8.7",
		"--listen-udp=127.0.0.1:0", "--listen-tcp=off", "--public-ip=127.0.0.1", "--allow-peers=127.0.0.1/32",
		"--gateway-url="+gateway, "--heartbeat-interval=1s", "--drain-timeout=200ms", "--log-level=info")
	testenv.WaitLogField(t, p, "relay started", "udp")
	return p
}

// caller is one user's allocation on the relay and a peer it talks to.
type caller struct {
	subject  string
	username string // the TURN username the gateway minted
	client   *turn.Client
	relayed  net.PacketConn
	peer     net.PacketConn
	sent     relayedBytes // what went through the relay so far
}

type relayedBytes struct{ toPeer, fromPeer uint64 }

// newCaller gets subject credentials from gateway and allocates on the
// relay it names with pion's TURN client.
func newCaller(t *testing.T, gateway, subject string) *caller {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	creds, err := getCredentials(ctx, gateway, testenv.Token(t, userJWTSecret, subject, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(strings.TrimSuffix(creds.Primary.URLs[0], "?transport=udp"), "turn:")
	client, relayed, err := relaytest.Allocate(t, addr, creds.Username, creds.Credential)
	if err != nil {
		t.Fatalf("allocate for %s: %v", subject, err)
	}
	peer := testenv.ListenUDP(t)
	if err := client.CreatePermission(peer.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	return &caller{subject: subject, username: creds.Username, client: client, relayed: relayed, peer: peer}
}

// exchange sends n datagrams of size toPeer bytes through the relay to the
// peer and n of fromPeer bytes back, each read before the next is sent,
// and adds them to c.sent.
func (c *caller) exchange(t *testing.T, n, toPeer, fromPeer int) {
	t.Helper()
	buf := make([]byte, 2048)
	for range n {
		if _, err := c.relayed.WriteTo(make([]byte, toPeer), c.peer.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		_ = c.peer.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, from, err := c.peer.ReadFrom(buf)
		if err != nil || got != toPeer {
			t.Fatalf("peer of %s read %d bytes, %v; want %d", c.subject, got, err, toPeer)
		}
		c.sent.toPeer += uint64(got)
		if _, err := c.peer.WriteTo(make([]byte, fromPeer), from); err != nil {
			t.Fatal(err)
		}
		_ = c.relayed.SetReadDeadline(time.Now().Add(5 * time.Second))
		if got, _, err = c.relayed.ReadFrom(buf); err != nil || got != fromPeer {
			t.Fatalf("%s read %d bytes from its peer, %v; want %d", c.subject, got, err, fromPeer)
		}
		c.sent.fromPeer += uint64(got)
	}
}

// usageRange is the query of the hour around now.
func usageRange() url.Values {
	now := time.Now()
	return url.Values{"from": {now.Add(-time.Hour).Format(time.RFC3339)}, "to": {now.Add(time.Hour).Format(time.RFC3339)}}
}

// waitUsage waits until GET /v1/usage gives c.sent for c's subject, and
// fails at once when it gives more: a report counted twice.
func waitUsage(t *testing.T, gateway string, c *caller, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	q := usageRange()
	q.Set("subject", c.subject)
	testenv.Eventually(t, c.subject+"'s usage in GET /v1/usage", within, 100*time.Millisecond, func() error {
		var u wire.Usage
		if err := adminGet(t, gateway, "/v1/usage?"+q.Encode(), &u); err != nil {
			return err
		}
		got := relayedBytes{u.Total.BytesToPeer, u.Total.BytesFromPeer}
		if got.toPeer > c.sent.toPeer || got.fromPeer > c.sent.fromPeer {
			t.Fatalf("%s's usage %+v exceeds what was relayed, %+v", c.subject, got, c.sent)
		}
		if got != c.sent {
			return fmt.Errorf("%+v, want %+v", got, c.sent)
		}
		if u.Total.AllocationSeconds <= 0 || len(u.Hours) == 0 {
			return fmt.Errorf("allocation_seconds %v over %d hours, want some", u.Total.AllocationSeconds, len(u.Hours))
		}
		return nil
	})
	return time.Since(start)
}

// TestUsagePerUser: volumes relayed through a real relaynode for two
// users (pion TURN clients on allocations from gateway-minted credentials)
// come back exactly, per user, from GET /v1/usage within about a heartbeat,
// and per relay from GET /v1/usage/relays; neither the gateway's metrics
// nor its logs name a user's pseudonym. On Redis, usage relayed while the
// gateway is down is reported once it is back.
func TestUsagePerUser(t *testing.T) {
	forEachStore(t, func(t *testing.T, storeArgs []string) {
		secret := randomSecret(t)
		listen := fmt.Sprintf("127.0.0.1:%d", testenv.FreeTCPPort(t))
		gateway := "http://" + listen
		extra := append(slices.Clip(storeArgs), "--heartbeat-ttl=3s") // relays heartbeat every second
		gw, _ := startGatewayOn(t, secret, listen, extra...)
		relaynode := usageRelaynode(t, secret, gateway)

		alice := newCaller(t, gateway, "alice@example.com")
		bob := newCaller(t, gateway, "bob@example.com")
		alice.exchange(t, 20, 1000, 1200)
		bob.exchange(t, 3, 100, 50)
		// The relay reports at its next heartbeat (every second here);
		// the bound leaves a loaded machine room.
		took := waitUsage(t, gateway, alice, 15*time.Second)
		waitUsage(t, gateway, bob, 15*time.Second)
		t.Logf("alice's %d+%d bytes in GET /v1/usage after %v (heartbeat interval 1s)", alice.sent.toPeer, alice.sent.fromPeer, took.Round(10*time.Millisecond))

		var rl wire.RelayUsageList
		if err := adminGet(t, gateway, "/v1/usage/relays?"+usageRange().Encode(), &rl); err != nil {
			t.Fatal(err)
		}
		if len(rl.Relays) != 1 || rl.Relays[0].RelayID != "lo-1" ||
			rl.Relays[0].Usage.BytesToPeer != alice.sent.toPeer+bob.sent.toPeer ||
			rl.Relays[0].Usage.BytesFromPeer != alice.sent.fromPeer+bob.sent.fromPeer {
			t.Errorf("GET /v1/usage/relays = %+v, want lo-1 with alice's and bob's bytes", rl)
		}

		u, err := turncred.ParseUsername(alice.username)
		if err != nil {
			t.Fatal(err)
		}
		pseudonym := u.User[len(u.KeyID())+1:]
		resp, err := http.Get(gateway + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		metrics, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(metrics), `relaygate_usage_reports_total{result="counted"}`) {
			t.Errorf("/metrics lacks relaygate_usage_reports_total")
		}
		for name, text := range map[string]string{"gateway metrics": string(metrics), "gateway logs": gw.Logs.String(), "relaynode logs": relaynode.Logs.String()} {
			if strings.Contains(text, pseudonym) || strings.Contains(text, "alice") {
				t.Errorf("%s name alice or her pseudonym", name)
			}
		}

		if storeArgs == nil { // the in-memory store
			return
		}
		// The gateway goes away; what the relay carries meanwhile is
		// reported to its successor on the same store.
		stopClean(t, gw)
		alice.exchange(t, 5, 700, 300)
		startGatewayOn(t, secret, listen, extra...)
		waitUsage(t, gateway, alice, 30*time.Second)
	})
}
