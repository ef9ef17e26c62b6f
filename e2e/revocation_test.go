package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/turn/v5"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/turnrelay/relaytest"
	"github.com/relaygate/relaygate/wire"
)

// revocationHeartbeatTTL is the gateway's --heartbeat-ttl: relays are told
// to heartbeat every third of it, so a revocation reaches them within
// revocationInterval.
const (
	revocationHeartbeatTTL = 6 * time.Second
	revocationInterval     = revocationHeartbeatTTL / 3
)

// liveCall is one user's media stream through a relay: the client sends a
// datagram through its allocation every 20 ms, a peer echoes it back, and
// the client notes when the last echo arrived.
type liveCall struct {
	client   *turn.Client
	relayed  net.PacketConn
	peer     net.PacketConn
	lastEcho atomic.Int64 // unix ns of the newest echo; 0: none yet
	echoes   atomic.Int64
}

// startCall allocates with cred on the relay at addr, lets peer in and
// starts the stream, which runs until the test ends.
func startCall(t *testing.T, addr string, creds wire.Credentials) *liveCall {
	t.Helper()
	client, relayed, err := relaytest.Allocate(t, addr, creds.Username, creds.Credential)
	if err != nil {
		t.Fatalf("allocate with the gateway's credential: %v", err)
	}
	peer := testenv.ListenUDP(t)
	if err := client.CreatePermission(peer.LocalAddr()); err != nil {
		t.Fatalf("CreatePermission: %v", err)
	}
	c := &liveCall{client: client, relayed: relayed, peer: peer}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // bounded whatever happens
	t.Cleanup(cancel)
	done := make(chan struct{}, 3)
	t.Cleanup(func() {
		cancel()
		_ = peer.Close()
		_ = relayed.Close()
		for range 3 {
			<-done
		}
	})
	go func() { // the peer echoes what it gets
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 1500)
		for ctx.Err() == nil {
			n, from, err := peer.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = peer.WriteTo(buf[:n], from)
		}
	}()
	go func() { // the client reads the echoes
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 1500)
		for ctx.Err() == nil {
			_ = relayed.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			if _, _, err := relayed.ReadFrom(buf); err == nil {
				c.lastEcho.Store(time.Now().UnixNano())
				c.echoes.Add(1)
			} else if errors.Is(err, net.ErrClosed) {
				return
			}
		}
	}()
	go func() { // the client talks every 20 ms, at most a minute
		defer func() { done <- struct{}{} }()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < 3000; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			_, _ = relayed.WriteTo([]byte(fmt.Sprintf("media %d", i)), peer.LocalAddr())
		}
	}()
	testenv.Eventually(t, "echoes through the relay", 10*time.Second, 20*time.Millisecond, func() error {
		if c.echoes.Load() < 5 {
			return errors.New("fewer than 5 echoes")
		}
		return nil
	})
	return c
}

// last is when the newest echo arrived.
func (c *liveCall) last() time.Time { return time.Unix(0, c.lastEcho.Load()) }

// udpURL is the TURN address of a relay choice's first turn: URL over UDP.
func udpURL(t *testing.T, c wire.RelayChoice) string {
	t.Helper()
	for _, u := range c.URLs {
		if rest, ok := strings.CutPrefix(u, "turn:"); ok && strings.HasSuffix(rest, "?transport=udp") {
			return strings.TrimSuffix(rest, "?transport=udp")
		}
	}
	t.Fatalf("relay %s offers no turn: URL over UDP: %q", c.RelayID, c.URLs)
	return ""
}

// TestRevocationCutsALiveCall: real relaygate and relaynode processes, on
// the in-memory store and on Redis. Two users call through the same
// relaynode with pion's TURN client; the operator revokes one. Her call is
// cut within two heartbeat intervals of the revocation (the relay hears of
// it in its next heartbeat answer and ends her allocation); a new
// allocation with her still-unexpired credential is refused with 401 and
// the gateway refuses her new credentials with 403 subject-revoked; the
// other user's call goes on. Lifting the revocation gives her credentials
// again.
func TestRevocationCutsALiveCall(t *testing.T) {
	forEachStore(t, testRevocationCutsALiveCall)
}

func testRevocationCutsALiveCall(t *testing.T, storeArgs []string) {
	secret := randomSecret(t)
	gw, gateway := startGatewayOn(t, secret, "127.0.0.1:0", append([]string{
		"--heartbeat-ttl=" + revocationHeartbeatTTL.String(), "--probe-interval=0"}, storeArgs...)...)

	const relayID = "lab-1"
	rn := startProc(t, "relaynode", []string{
		"RELAYNODE_SECRETS=k1:" + secret,
		"RELAYNODE_NODE_TOKEN=" + testenv.Token(t, nodeJWTSecret, relayID, time.Hour),
	}, nil, nil, buildCmd(t, "relaynode"),
		"--listen-udp=127.0.0.1:0", "--allow-peers=127.0.0.1/32",
		"--gateway-url="+gateway, "--id="+relayID, "--region=lab", "--site=lab", "--lat=50.1", "--lon=8.7",
		"--heartbeat-interval=1s", "--drain-timeout=200ms", "--log-level=info")
	testenv.WaitLogField(t, rn, "relay started", "udp")

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	const alice, bob = "alice@example.com", "bob@example.com"
	aliceCreds, err := getCredentials(ctx, gateway, testenv.Token(t, userJWTSecret, alice, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	bobToken := testenv.Token(t, userJWTSecret, bob, time.Hour)
	bobCreds, err := getCredentials(ctx, gateway, bobToken)
	if err != nil {
		t.Fatal(err)
	}
	addr := udpURL(t, aliceCreds.Primary)
	aliceCall := startCall(t, addr, aliceCreds)
	bobCall := startCall(t, addr, bobCreds)

	status, b := admin(t, http.MethodPost, gateway+"/v1/revocations", map[string]any{
		"subject": bob, "until": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	revokedAt := time.Now()
	if status != http.StatusOK {
		t.Fatalf("POST /v1/revocations = %d %s", status, b)
	}

	// Bob's echoes stop: wait until none came for a heartbeat interval.
	testenv.Eventually(t, "bob's call cut", 4*revocationInterval+10*time.Second, 50*time.Millisecond, func() error {
		if since := time.Since(bobCall.last()); since < revocationInterval {
			return fmt.Errorf("bob's last echo %v ago", since)
		}
		return nil
	})
	cut := bobCall.last().Sub(revokedAt)
	t.Logf("bob's call cut %v after the revocation (heartbeat interval %v)", cut.Round(time.Millisecond), revocationInterval)
	if cut > 2*revocationInterval {
		t.Errorf("bob's call was cut %v after the revocation, want within two heartbeat intervals (%v)", cut, 2*revocationInterval)
	}
	if since := time.Since(aliceCall.last()); since > revocationInterval/2 {
		t.Errorf("alice's last echo %v ago: her call was cut too", since)
	}
	n := aliceCall.echoes.Load()
	testenv.Eventually(t, "alice's call goes on", 10*time.Second, 20*time.Millisecond, func() error {
		if aliceCall.echoes.Load() < n+10 {
			return errors.New("fewer than 10 more echoes")
		}
		return nil
	})

	// Bob's credential has not expired, yet the relay refuses it.
	if _, _, err := relaytest.Allocate(t, addr, bobCreds.Username, bobCreds.Credential); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("allocate with the revoked user's unexpired credential: %v, want 401", err)
	}
	c, err := gatewayClient(gateway, bobToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Credentials(t.Context()); err == nil || !strings.Contains(err.Error(), "subject-revoked") {
		t.Errorf("credentials for the revoked user: %v, want 403 subject-revoked", err)
	}

	status, b = admin(t, http.MethodDelete, gateway+"/v1/revocations?subject="+url.QueryEscape(bob), nil)
	if status != http.StatusNoContent {
		t.Fatalf("DELETE /v1/revocations = %d %s", status, b)
	}
	again, err := getCredentials(ctx, gateway, bobToken)
	if err != nil {
		t.Fatalf("credentials after the revocation was lifted: %v", err)
	}
	// The relay forgets bob at its next heartbeat answer.
	testenv.Eventually(t, "the relay takes bob again", 4*revocationInterval+10*time.Second, 200*time.Millisecond, func() error {
		_, _, err := relaytest.Allocate(t, addr, again.Username, again.Credential)
		return err
	})
	if strings.Contains(rn.Logs.String(), bob) || strings.Contains(gw.Logs.String(), bob) {
		t.Errorf("a log names the revoked subject")
	}
	stopClean(t, gw)
}
