package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/relaygate/relaygate/internal/cmdline"
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
		{name: "config file", args: []string{"--config", writeConfig(t, "secrets: [\"k2:0123456789abcdef0123\", \"k1:0123456789abcdef0123\"]\n"+
			"max-allocations: 11\nstrict-expiry: true\ndrain-timeout: 5s\nallow-peers: 10.0.0.0/8,192.168.0.0/16\nlisten-tcp: \"off\"\n")},
			chk: func(t *testing.T, c config) {
				r := c.relay
				if len(r.Secrets) != 2 || r.MaxAllocations != 11 || !r.StrictExpiry || r.DrainTimeout != 5*time.Second ||
					len(r.AllowPeers) != 2 || listenAddr(r, relay.TCP) != "" {
					t.Errorf("from the file = %+v", r)
				}
			}},
		{name: "flag beats env beats file", args: []string{"--max-allocations=9"},
			env: map[string]string{"RELAYNODE_CONFIG": writeConfig(t, "secrets: k1:0123456789abcdef0123\nmax-allocations: 1\nuser-quota: 1\nmax-bps: 1\n"),
				"RELAYNODE_MAX_ALLOCATIONS": "7", "RELAYNODE_USER_QUOTA": "7"},
			chk: func(t *testing.T, c config) {
				if r := c.relay; r.MaxAllocations != 9 || r.UserQuota != 7 || r.MaxBPS != 1 {
					t.Errorf("max-allocations %d user-quota %d max-bps %d, want 9 (flag), 7 (env), 1 (file)", r.MaxAllocations, r.UserQuota, r.MaxBPS)
				}
			}},
		{name: "bad number in the file names key and line", env: base, args: []string{"--config", writeConfig(t, "region: eu\nmax-bps: 10M\n")},
			want: "relaynode.yaml:2: max-bps: invalid int"},
		{name: "bad secret in the file", args: []string{"--config", writeConfig(t, "secrets: k1:0123456789abcde\n")}, want: "--secrets"},
		{name: "unknown key in the file", env: base, args: []string{"--config", writeConfig(t, "max-allocation: 1\n")},
			want: "relaynode.yaml:1: max-allocation: unknown key"},
		{name: "missing config file", env: base, args: []string{"--config", "/nonexistent/relaynode.yaml"}, want: "no such file"},
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

// writeConfig writes data as relaynode.yaml in a new temporary directory.
func writeConfig(t *testing.T, data string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "relaynode.yaml")
	if err := os.WriteFile(name, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestExampleConfigs: every relaynode config file among the deployment
// examples (deployments/relaynode.example.yaml, the Kubernetes ConfigMap)
// loads through the real parser, so the examples cannot rot. Secrets come
// from the environment as in the examples; the TLS listener is turned off
// on the command line, since the certificates are the host's.
func TestExampleConfigs(t *testing.T) {
	for _, ex := range testenv.ExampleConfigs(t, "relaynode") {
		t.Run(ex.Source, func(t *testing.T) {
			c, err := parseConfig([]string{"--config", ex.Path, "--listen-tls", "off"},
				env(map[string]string{"RELAYNODE_SECRETS": testSecret, "RELAYNODE_NODE_TOKEN": "tok"}), io.Discard)
			if err != nil {
				t.Fatalf("%s: %v", ex.Source, err)
			}
			if c.relay.Heartbeat.GatewayURL == "" || c.relay.MaxAllocations == 0 || listenAddr(c.relay, relay.UDP) == "" {
				t.Errorf("%s: gateway %q, max allocations %d, UDP %q: the file was not applied", ex.Source,
					c.relay.Heartbeat.GatewayURL, c.relay.MaxAllocations, listenAddr(c.relay, relay.UDP))
			}
		})
	}
}

// TestHelpAndVersion: --help names every flag's environment twin and
// exits 0; --version is cmdline.ErrVersion (main prints it); a bad flag
// is a usage error (exit 2).
func TestHelpAndVersion(t *testing.T) {
	var help strings.Builder
	err := run(t.Context(), []string{"--help"}, env(nil), &help)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run(--help) = %v, want flag.ErrHelp", err)
	}
	for _, w := range []string{"[$RELAYNODE_SECRETS]", "[$RELAYNODE_GATEWAY_URL]", "[$RELAYNODE_CONFIG]", "--version", "Exit status"} {
		if !strings.Contains(help.String(), w) {
			t.Errorf("--help lacks %q:\n%s", w, help.String())
		}
	}
	if err := run(t.Context(), []string{"--version"}, env(nil), io.Discard); !errors.Is(err, cmdline.ErrVersion) {
		t.Errorf("run(--version) = %v, want cmdline.ErrVersion", err)
	}
	var ue *cmdline.UsageError
	if err := run(t.Context(), []string{"--bogus"}, env(nil), io.Discard); !errors.As(err, &ue) {
		t.Errorf("run(--bogus) = %v, want a usage error", err)
	}
}

// TestRunLogsRegistration: relaynode configured by a --config file logs
// its first accepted heartbeat once, at Info, and every line carries one
// "component" key.
func TestRunLogsRegistration(t *testing.T) {
	var puts atomic.Int32
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || r.URL.Path != "/v1/relays/fra-1" || r.Header.Get("Authorization") != "Bearer node-token-xyz" {
			http.Error(w, "unexpected", http.StatusBadRequest)
			return
		}
		puts.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ttl_seconds":15,"heartbeat_interval_seconds":1,"drained":false}`)
	}))
	defer gw.Close()
	file := writeConfig(t, "listen-udp: 127.0.0.1:0\nlisten-tcp: \"off\"\nsecrets:\n  - "+testSecret+"\n"+
		"gateway-url: "+gw.URL+"\nnode-token: node-token-xyz\nid: fra-1\nregion: eu-central\nsite: fra\nlat: 50.11\nlon: 8.68\n")
	ctx, cancel := context.WithCancel(t.Context())
	stderr := &testenv.Buffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--config", file}, env(nil), stderr) }()
	testenv.Eventually(t, "three heartbeats", 10*time.Second, 10*time.Millisecond, func() error {
		if n := puts.Load(); n < 3 {
			return fmt.Errorf("%d heartbeats; logs so far:\n%s", n, stderr)
		}
		return nil
	})
	cancel()
	testenv.WaitDone(t, "run()", done, 10*time.Second)
	logs := stderr.String()
	if n := strings.Count(logs, `"msg":"registered with the gateway"`); n != 1 {
		t.Errorf("registration logged %d times, want once:\n%s", n, logs)
	}
	if m, ok := testenv.LogLine(logs, "registered with the gateway"); !ok || m["level"] != "INFO" || m["relay_id"] != "fra-1" || m["component"] != "heartbeat" {
		t.Errorf("registration line = %v, want INFO, relay fra-1, component heartbeat", m)
	}
	for line := range strings.Lines(logs) {
		if n := strings.Count(line, `"component":`); n != 1 {
			t.Errorf("log line with %d component keys: %s", n, line)
		}
	}
	for _, secret := range []string{"0123456789abcdef", "node-token-xyz"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q", secret)
		}
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

// waitStarted waits until run's log names its listener of transport and
// its metrics listener, and returns their addresses.
func waitStarted(t *testing.T, stderr *testenv.Buffer, transport string) (addr, metrics string) {
	t.Helper()
	testenv.Eventually(t, "relaynode to start", 10*time.Second, 10*time.Millisecond, func() error {
		addr, metrics = logField(stderr.String(), "relay started", transport), logField(stderr.String(), "metrics listening", "addr")
		if addr == "" || metrics == "" {
			return fmt.Errorf("logs so far:\n%s", stderr)
		}
		return nil
	})
	return addr, metrics
}

func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	stderr := &testenv.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen-udp=127.0.0.1:0", "--listen-tcp=127.0.0.1:0", "--metrics-listen=127.0.0.1:0",
			"--drain-timeout=100ms"}, env(map[string]string{"RELAYNODE_SECRETS": testSecret}), stderr)
	}()
	udp, metrics := waitStarted(t, stderr, "udp")
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
