// Package relaytest starts a relaygate TURN relay on loopback for tests of
// this and other packages (coturn interop, WebRTC end to end, benchmarks).
package relaytest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/turn/v5"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/turnrelay"
	"github.com/relaygate/relaygate/turnrelay/turncred"
)

// Realm is the realm test relays use.
const Realm = "relaygate"

// Relay is a running test relay.
type Relay struct {
	*turnrelay.Server
	Config  turnrelay.Config  // as passed to New, after options
	Secrets []turncred.Secret // what the relay accepts, newest first
	Minter  *turncred.Minter  // mints with Secrets[0]
	logs    *testenv.Buffer
	done    chan error
	cancel  context.CancelFunc
}

// Start runs a relay until the test ends: UDP and TCP listeners on
// 127.0.0.1:0, one fresh secret, loopback peers 127.0.0.1 and ::1 allowed
// (so a test's peer socket is reachable), a 100ms drain. opts edit the
// config before New; set AllowPeers to nil to test the default filter.
func Start(t testing.TB, opts ...func(*turnrelay.Config)) *Relay {
	t.Helper()
	secrets := []turncred.Secret{NewSecret(t, "k1")}
	cfg := turnrelay.Config{
		Realm:   Realm,
		Secrets: secrets,
		Listeners: []turnrelay.Listener{
			{Transport: relay.UDP, Addr: "127.0.0.1:0"},
			{Transport: relay.TCP, Addr: "127.0.0.1:0"},
		},
		AllowPeers:   []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")},
		DrainTimeout: 100 * time.Millisecond,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	logs := &testenv.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := turnrelay.New(cfg, log)
	if err != nil {
		t.Fatalf("turnrelay.New: %v", err)
	}
	minter, err := turncred.NewMinter(cfg.Secrets, []byte("relaytest-pseudonym-key"))
	if err != nil {
		t.Fatalf("NewMinter: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Relay{Server: s, Config: cfg, Secrets: cfg.Secrets, Minter: minter, logs: logs, done: make(chan error, 1), cancel: cancel}
	go func() { r.done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		testenv.WaitDone(t, "relay Run", r.done, 10*time.Second)
	})
	return r
}

// NewSecret returns a random secret with the given id.
func NewSecret(t testing.TB, id string) turncred.Secret {
	t.Helper()
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	s, err := turncred.NewSecret(id, hex.EncodeToString(b))
	if err != nil {
		t.Fatalf("NewSecret: %v", err)
	}
	return s
}

// Credential mints a credential for subject valid for ttl from now on the
// relay's clock.
func (r *Relay) Credential(subject string, ttl time.Duration) turncred.Credential {
	return r.Minter.Mint(subject, ttl, r.Config.Now())
}

// Addr is the listener of transport t, "127.0.0.1:port" (UDP and TCP
// always; others when the test configured them).
func (r *Relay) Addr(t relay.Transport) string { return r.Addrs()[t].String() }

// Logs returns everything the relay logged so far (JSON lines).
func (r *Relay) Logs() string { return r.logs.String() }

// Shutdown cancels Run's context, as SIGTERM does in relaynode: the relay
// drains, then closes. It does not wait; see Wait.
func (r *Relay) Shutdown() { r.cancel() }

// Wait waits up to timeout for Run to return (after the test cancelled it
// through Cleanup, or the relay stopped on its own), and returns its error.
func (r *Relay) Wait(timeout time.Duration) (stopped bool, err error) {
	select {
	case err := <-r.done:
		r.done <- err // keep it for Cleanup
		return true, err
	case <-time.After(timeout):
		return false, nil
	}
}

// PionClient is pion's TURN client for cfg (its Conn, server addresses and
// credentials), listening on cfg.Conn and closed when the test ends.
func PionClient(t testing.TB, cfg *turn.ClientConfig) *turn.Client {
	t.Helper()
	c, err := turn.NewClient(cfg)
	if err != nil {
		t.Fatalf("turn.NewClient: %v", err)
	}
	t.Cleanup(c.Close)
	if err := c.Listen(); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	return c
}

// Allocate allocates on the TURN server at addr (UDP) with pion's client,
// as username; the client, its socket and the allocation are closed when
// the test ends. The error is the allocation's, for the caller to judge
// (a refusal may be what it wants).
func Allocate(t testing.TB, addr, username, password string) (*turn.Client, net.PacketConn, error) {
	t.Helper()
	conn, err := (&net.ListenConfig{}).ListenPacket(t.Context(), "udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := PionClient(t, &turn.ClientConfig{
		STUNServerAddr: addr, TURNServerAddr: addr, Username: username, Password: password,
		Conn: conn, RTO: 200 * time.Millisecond,
	})
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	relayed, err := c.AllocateWithContext(ctx)
	if err != nil {
		return nil, nil, err
	}
	t.Cleanup(func() { relayed.Close() })
	return c, relayed, nil
}

// TLSConfig returns a server config with a fresh self-signed certificate for
// hosts (names or IP literals), and a pool that trusts it.
func TLSConfig(t testing.TB, hosts ...string) (*tls.Config, *x509.CertPool) {
	t.Helper()
	certPEM, keyPEM, err := SelfSignedPEM(hosts...)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	return &tls.Config{Certificates: []tls.Certificate{cert}}, pool
}

// SelfSignedPEM makes a fresh self-signed CA certificate valid for hosts
// (names or IP literals) for a day, and its PKCS #8 key, both PEM encoded
// (testenv.SelfSignedPEM with only hosts). It needs no testing.TB, so
// TestMain can write files from it.
func SelfSignedPEM(hosts ...string) (certPEM, keyPEM []byte, err error) {
	return testenv.SelfSignedPEM(testenv.CertOptions{Hosts: hosts})
}
