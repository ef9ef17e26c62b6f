package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/turnrelay"
)

const testSecret = "k1:0123456789abcdef0123"

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// listenAddr is the address of c's listener for t, "" when it is off.
func listenAddr(c turnrelay.Config, t relay.Transport) string {
	for _, l := range c.Listeners {
		if l.Transport == t {
			return l.Addr
		}
	}
	return ""
}

func TestParseConfig(t *testing.T) {
	base := map[string]string{"RELAYNODE_SECRETS": testSecret}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // substring of the error; "" means valid
		chk  func(t *testing.T, c config)
	}{
		{name: "defaults", env: base, chk: func(t *testing.T, c config) {
			r := c.relay
			if listenAddr(r, relay.UDP) != "0.0.0.0:3478" || listenAddr(r, relay.TCP) != "0.0.0.0:3478" || listenAddr(r, relay.TLS) != "" || r.Realm != "relaygate" ||
				r.RelayPorts.String() != "49152-65535" || len(r.Secrets) != 1 || r.DrainTimeout != 30*time.Second {
				t.Errorf("defaults = %+v", r)
			}
		}},
		{name: "env twin", env: map[string]string{"RELAYNODE_SECRETS": testSecret, "RELAYNODE_GATEWAY_URL": "http://gw:8080",
			"RELAYNODE_NODE_TOKEN": "tok", "RELAYNODE_ID": "fra-1", "RELAYNODE_REGION": "eu", "RELAYNODE_SITE": "fra",
			"RELAYNODE_MAX_ALLOCATIONS": "7", "RELAYNODE_STRICT_EXPIRY": "true", "RELAYNODE_ALLOW_PEERS": "10.0.0.0/8"},
			chk: func(t *testing.T, c config) {
				r := c.relay
				if r.Heartbeat.GatewayURL != "http://gw:8080" || r.Heartbeat.RelayID != "fra-1" || r.MaxAllocations != 7 ||
					!r.StrictExpiry || len(r.AllowPeers) != 1 {
					t.Errorf("from env = %+v", r)
				}
			}},
		{name: "flag beats env", args: []string{"--max-allocations=9", "--listen-tcp=off"}, env: map[string]string{
			"RELAYNODE_SECRETS": testSecret, "RELAYNODE_MAX_ALLOCATIONS": "7"},
			chk: func(t *testing.T, c config) {
				if c.relay.MaxAllocations != 9 || listenAddr(c.relay, relay.TCP) != "" {
					t.Errorf("MaxAllocations = %d, TCP listener = %q", c.relay.MaxAllocations, listenAddr(c.relay, relay.TCP))
				}
			}},
		{name: "no secrets", env: map[string]string{}, want: "--secrets"},
		{name: "bad secrets", env: map[string]string{"RELAYNODE_SECRETS": "k1:short"}, want: "--secrets"},
		{name: "bad allow cidr", args: []string{"--allow-peers=10.0.0.0/33"}, env: base, want: "--allow-peers"},
		{name: "bad deny cidr", args: []string{"--deny-peers=nope"}, env: base, want: "--deny-peers"},
		{name: "bad relay ports", args: []string{"--relay-ports=6000-5000"}, env: base, want: "--relay-ports"},
		{name: "bad public ip", args: []string{"--public-ip=relay.example"}, env: base, want: "--public-ip"},
		{name: "tls without cert", args: []string{"--listen-tls=0.0.0.0:5349"}, env: base, want: "--tls-cert"},
		{name: "bad log level", args: []string{"--log-level=loud"}, env: base, want: "--log-level"},
		{name: "bad env number", env: map[string]string{"RELAYNODE_SECRETS": testSecret, "RELAYNODE_MAX_BPS": "fast"}, want: "RELAYNODE_MAX_BPS"},
		{name: "bad hostname", args: []string{"--hostname=-x-"}, env: base, want: "--hostname"},
		{name: "stray argument", args: []string{"extra"}, env: base, want: "unexpected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(tt.args, env(tt.env), io.Discard)
			testenv.WantErr(t, "parseConfig()", err, tt.want, "0123456789abcdef")
			if tt.chk != nil {
				tt.chk(t, c)
			}
		})
	}
}

// TestRunRejectsBadConfig: run stops before binding anything.
func TestRunRejectsBadConfig(t *testing.T) {
	err := run(t.Context(), []string{"--secrets=k1:0123456789abcdef0123", "--listen-udp=0.0.0.0:0", "--listen-tcp=off"}, env(nil), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "public-ip") {
		t.Fatalf("run() = %v, want a public-ip error", err)
	}
}

// logField finds the first log line with msg and returns its field.
func logField(logs, msg, field string) string {
	m, _ := testenv.LogLine(logs, msg)
	s, _ := m[field].(string)
	return s
}

func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	stderr := &testenv.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen-udp=127.0.0.1:0", "--listen-tcp=127.0.0.1:0", "--metrics-listen=127.0.0.1:0",
			"--drain-timeout=100ms"}, env(map[string]string{"RELAYNODE_SECRETS": testSecret}), stderr)
	}()
	var udp, metrics string
	testenv.Eventually(t, "relaynode to start", 5*time.Second, 10*time.Millisecond, func() error {
		udp, metrics = logField(stderr.String(), "relay started", "udp"), logField(stderr.String(), "metrics listening", "addr")
		if udp == "" || metrics == "" {
			return fmt.Errorf("logs so far:\n%s", stderr)
		}
		return nil
	})
	// A plain STUN Binding, as the gateway's prober sends.
	conn, err := net.Dial("udp4", udp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	if _, err := conn.Write(req.Raw); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 1500)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("binding: %v", err)
	}
	res := &stun.Message{Raw: buf[:n]}
	var xor stun.XORMappedAddress
	if err := res.Decode(); err != nil || xor.GetFrom(res) != nil || xor.String() != conn.LocalAddr().String() {
		t.Fatalf("binding answer = %v, mapped %v; want %v", res, xor, conn.LocalAddr())
	}
	resp, err := http.Get("http://" + metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), "relaynode_allocations") {
		t.Errorf("metrics lack relaynode_allocations")
	}
	cancel()
	testenv.WaitDone(t, "run()", done, 10*time.Second)
	if strings.Contains(stderr.String(), "0123456789abcdef") {
		t.Error("logs contain the secret")
	}
}
