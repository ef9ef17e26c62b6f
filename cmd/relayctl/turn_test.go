package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/turnrelay"
	"github.com/relaygate/relaygate/turnrelay/relaytest"
	"github.com/relaygate/relaygate/turnrelay/turncred"
	"github.com/relaygate/relaygate/wire"
)

func TestProbeFromGatewayAndReport(t *testing.T) {
	w := getWorld(t)
	var out probeOutput
	// One report is one sample per relay; the gateway trusts a prefix's
	// figures after three.
	for i := range 3 {
		var stderr string
		out, _, stderr = relayctlJSON[probeOutput](t, w.userEnv(), exitOK, "probe", "--rounds", "3", "--gap", "10ms", "--report", "--json")
		if stderr != "" {
			t.Errorf("run %d: stderr = %q, want nothing (no progress when not a terminal)", i, stderr)
		}
		if out.Reported == nil || out.Reported.Sent != 2 || out.Reported.Accepted != 2 {
			t.Fatalf("run %d: reported = %+v, want 2 sent, 2 accepted (202)", i, out.Reported)
		}
	}
	if len(out.Relays) != 2 {
		t.Fatalf("relays = %+v, want loop-a and loop-b", out.Relays)
	}
	for _, r := range out.Relays {
		if r.Received != 3 || r.Sent != 3 || r.RTTMS == nil || r.MinRTTMS == nil || r.Loss != 0 || r.Health != "up" {
			t.Errorf("relay %+v: want 3/3 answered, RTTs, no loss, up", r)
		}
	}
	if out.Primary == nil || out.Backup == nil || out.Primary.Site == out.Backup.Site {
		t.Fatalf("primary %+v backup %+v: want both, on different sites", out.Primary, out.Backup)
	}

	// The gateway folded them in: its ranking for this prefix is now measured.
	testenv.Eventually(t, "a measured primary after three reports", 10*time.Second, 100*time.Millisecond, func() error {
		cr, _, _ := relayctlJSON[wire.Credentials](t, w.userEnv(), exitOK, "credentials", "--json")
		if cr.Primary.Basis != "measured" {
			return fmt.Errorf("primary basis = %q, want measured", cr.Primary.Basis)
		}
		return nil
	})

	t.Run("human", func(t *testing.T) {
		code, stdout, stderr := relayctl(t, w.userEnv(), "probe", "--rounds", "2", "--gap", "10ms")
		wantCode(t, "probe", code, exitOK, stdout, stderr)
		for _, want := range []string{"RTT MIN", "RTT AVG", "JITTER", "LOSS", "loop-a", "loop-b", "primary: ", "backup:  ", "2/2"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("output lacks %q:\n%s", want, stdout)
			}
		}
	})
}

func TestProbeAddresses(t *testing.T) {
	w := getWorld(t)
	dead := closedPort(t, "udp")
	out, _, _ := relayctlJSON[probeOutput](t, nil, exitOK, "probe", "--rounds", "3", "--gap", "10ms", "--probe-timeout", "200ms", "--json",
		w.a.udp, "turn:"+w.b.udp+"?transport=udp", dead)
	got := map[string]probeRowJSON{}
	for _, r := range out.Relays {
		got[r.Name] = r
	}
	if r := got[dead]; r.Received != 0 || r.Loss != 1 || r.Health != "down" {
		t.Errorf("dead address = %+v, want nothing answered, loss 1, down", r)
	}
	if r := got[w.a.udp]; r.Received != 3 || r.RelayID != "" {
		t.Errorf("loop-a by address = %+v, want 3 answers and no relay id", r)
	}
	if out.Primary == nil || out.Backup == nil || out.Primary.Name == dead || out.Backup.Name == dead {
		t.Errorf("primary %+v backup %+v: want the two live addresses", out.Primary, out.Backup)
	}

	code, stdout, stderr := relayctl(t, nil, "probe", "--rounds", "2", "--gap", "10ms", "--probe-timeout", "200ms", dead)
	wantCode(t, "probe dead address", code, exitProblem, stdout, stderr)
	if !strings.Contains(stdout, "primary: none") || !strings.Contains(stderr, "no relay answered") {
		t.Errorf("stdout %q stderr %q: want no primary and the problem", stdout, stderr)
	}

	wantUsageErrors(t, nil, "probe", []usageCase{
		{name: "report needs gateway relays", args: []string{"--report", w.a.udp}, stderr: "--report needs relays from the gateway"},
		{name: "tcp URI", args: []string{"turn:" + w.a.tcp + "?transport=tcp"}, stderr: "STUN over UDP"},
		{name: "rounds out of range", args: []string{"--rounds", "0", w.a.udp}, stderr: "--rounds 0"},
		{name: "bad address", args: []string{"not an address!"}, stderr: "not an address!"},
	})
}

// TestCheckWithGatewayCredentials checks every URI the gateway offers (UDP,
// TCP and TLS of loop-a, UDP and TCP of loop-b) with its credentials.
func TestCheckWithGatewayCredentials(t *testing.T) {
	w := getWorld(t)
	out, _, _ := relayctlJSON[checkOutput](t, w.userEnv(), exitOK, "check", "--count", "5", "--interval", "5ms", "--ca-file", w.caFile, "--json")
	transports := map[string]int{}
	for _, r := range out.Results {
		transports[r.Transport]++
		if !r.OK || r.Received != 5 || r.AllocateTimeMS == nil || r.RTTAvgMS == nil || r.JitterMS == nil || r.Loss == nil || *r.Loss != 0 {
			t.Errorf("%s: %+v, want ok with 5/5 packets and figures", r.URL, r)
		}
		if (r.Transport == "tcp" || r.Transport == "tls") && r.ConnectTimeMS == nil {
			t.Errorf("%s: no connect time", r.URL)
		}
	}
	if transports["udp"] != 2 || transports["tcp"] != 2 || transports["tls"] != 1 {
		t.Errorf("checked %v, want 2 udp, 2 tcp, 1 tls", transports)
	}
	if !out.Works || out.Summary != "UDP works; TCP works; TLS works" {
		t.Errorf("works %v summary %q", out.Works, out.Summary)
	}

	// Human output, one URI given.
	code, stdout, stderr := relayctl(t, w.userEnv(), "check", "--count", "3", "--interval", "5ms", "turn:"+w.a.tcp+"?transport=tcp")
	wantCode(t, "check one URI", code, exitOK, stdout, stderr)
	for _, want := range []string{"ALLOCATE", "RTT AVG", "JITTER", "LOSS", " ok", "works: allocated in", "3/3 packets back", "summary: TCP works"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "credential") {
		t.Errorf("check printed credentials:\n%s", stdout)
	}
}

// TestCheckDiagnoses: each failure a user meets gets its plain diagnosis
// and exit 1 when nothing works.
func TestCheckDiagnoses(t *testing.T) {
	w := getWorld(t)
	secret := "--secret=k1:" + testTURNSecret
	// A timeout no loaded machine reaches where an answer is expected (a
	// TLS handshake under -race on two busy cores has taken over a second);
	// the one row that expects silence sets its own.
	quick := []string{"--count", "3", "--interval", "5ms", "--turn-timeout", "15s"}
	tests := []struct {
		name      string
		args      []string
		code      int
		diagnoses []string // substrings, in the order of the URIs
		summary   string
	}{
		{
			name:      "works with a locally minted credential",
			args:      []string{secret, "turn:" + w.a.udp, "turn:" + w.b.tcp + "?transport=tcp"},
			diagnoses: []string{"works: allocated in", "works: allocated in"},
			summary:   "UDP works; TCP works",
		},
		{
			name:      "works with a bare secret: un-keyed usernames, as coturn's tools mint",
			args:      []string{"--secret", testTURNSecret, "turn:" + w.a.udp, "turn:" + w.b.tcp + "?transport=tcp"},
			diagnoses: []string{"works: allocated in", "works: allocated in"},
			summary:   "UDP works; TCP works",
		},
		{
			name:      "wrong bare secret",
			args:      []string{"--secret", "wrong-secret-0123456789abcdef", "turn:" + w.a.udp},
			code:      exitProblem,
			diagnoses: []string{"credentials refused: wrong secret (401 Unauthorized)"},
		},
		{
			name:      "wrong secret",
			args:      []string{"--secret", "k1:wrong-secret-0123456789abcdef", "turn:" + w.a.udp},
			code:      exitProblem,
			diagnoses: []string{"credentials refused: wrong secret (401 Unauthorized)"},
		},
		{
			name:      "expired credential",
			args:      []string{secret, "--ttl", "-1h", "turn:" + w.a.tcp + "?transport=tcp"},
			code:      exitProblem,
			diagnoses: []string{"credentials refused: expired at"},
		},
		{
			name:      "closed TCP port",
			args:      []string{secret, "turn:" + closedPort(t, "tcp") + "?transport=tcp"},
			code:      exitProblem,
			diagnoses: []string{"port closed (connection refused)"},
		},
		{
			name:      "UDP blocked",
			args:      []string{secret, "--turn-timeout", "1s", "turn:" + closedPort(t, "udp") + "?transport=udp"},
			code:      exitProblem,
			diagnoses: []string{"no answer to Allocate within 1s: UDP is blocked on this network"},
		},
		{
			name:      "UDP blocked, TCP works",
			args:      []string{secret, "--turn-timeout", "3s", "turn:" + closedPort(t, "udp") + "?transport=udp", "turn:" + w.b.tcp + "?transport=tcp"},
			diagnoses: []string{"no answer to Allocate", "works"},
			summary:   "UDP: no answer to Allocate within 3s: UDP is blocked on this network",
		},
		{
			name:      "relay refuses its own relayed address",
			args:      []string{secret, "turn:" + w.c.udp},
			code:      exitProblem,
			diagnoses: []string{"peer refused (403 Forbidden)"},
		},
		{
			name:      "TLS certificate not trusted",
			args:      []string{secret, "turns:localhost:" + strings.Split(w.a.tls, ":")[1] + "?transport=tcp"},
			code:      exitProblem,
			diagnoses: []string{"TLS handshake failed: certificate signed by unknown authority"},
		},
		{
			name:      "TLS with --insecure-skip-verify",
			args:      []string{secret, "--insecure-skip-verify", "turns:" + w.a.tls + "?transport=tcp"},
			diagnoses: []string{"works"},
		},
		{
			name:      "TLS against a plain TURN port",
			args:      []string{secret, "--insecure-skip-verify", "--turn-timeout", "1s", "turns:" + w.a.tcp + "?transport=tcp"},
			code:      exitProblem,
			diagnoses: []string{"TLS handshake failed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"check", "--json"}, quick...), tt.args...)
			out, stdout, stderr := relayctlJSON[checkOutput](t, nil, tt.code, args...)
			if len(out.Results) != len(tt.diagnoses) {
				t.Fatalf("%d results, want %d: %s", len(out.Results), len(tt.diagnoses), stdout)
			}
			for i, want := range tt.diagnoses {
				if got := out.Results[i].Diagnosis; !strings.Contains(got, want) {
					t.Errorf("%s: diagnosis %q, want %q", out.Results[i].URL, got, want)
				}
			}
			if !strings.Contains(out.Summary, tt.summary) {
				t.Errorf("summary %q, want %q", out.Summary, tt.summary)
			}
			if strings.Contains(stdout+stderr, testTURNSecret) {
				t.Error("output shows the TURN secret")
			}
		})
	}

	t.Run("human output says nothing works", func(t *testing.T) {
		code, stdout, stderr := relayctl(t, nil, append(append([]string{"check"}, quick...), secret, "turn:"+closedPort(t, "tcp")+"?transport=tcp")...)
		wantCode(t, "check", code, exitProblem, stdout, stderr)
		if !strings.Contains(stdout, "summary: nothing works; TCP: port closed (connection refused)") || !strings.Contains(stderr, "nothing works") {
			t.Errorf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
		}
	})
	t.Run("strict fails on any failure", func(t *testing.T) {
		code, stdout, stderr := relayctl(t, nil, append(append([]string{"check", "--strict"}, quick...), secret,
			"turn:"+closedPort(t, "tcp")+"?transport=tcp", "turn:"+w.a.udp)...)
		wantCode(t, "check --strict", code, exitProblem, stdout, stderr)
	})
	wantUsageErrors(t, w.userEnv(), "check", []usageCase{
		{name: "not a TURN URI", args: []string{secret, "http://x"}, stderr: "turn: or turns:"},
		{name: "DTLS", args: []string{secret, "turns:x:5349?transport=udp"}, stderr: "DTLS"},
		{name: "secret without URIs", args: []string{secret}, stderr: "needs the TURN URIs"},
		{name: "short bare secret", args: []string{"--secret", "SECRET-VALUE", "turn:" + w.a.udp}, stderr: "shorter than 16"},
		{name: "short forced bare secret", args: []string{"--secret", ":k1:SECRET-VALUE", "turn:" + w.a.udp}, stderr: "shorter than 16"},
		{name: "short secret", args: []string{"--secret", "k1:SECRET-VALUE", "turn:" + w.a.udp}, stderr: "shorter than 16"},
		{name: "gateway ttl out of range", args: []string{"--ttl", "1s", "turn:" + w.a.udp}, stderr: "--ttl"},
	})
}

// TestCheckBareSecretDuringRotation: a relay rotating from the old secret
// to a new one holds [new, old]; relayctl check --secret with the old
// secret bare (no id, as coturn's static-auth-secret) mints un-keyed
// usernames, which the relay accepts under the old secret over UDP, TCP
// and TLS, as coturn would.
func TestCheckBareSecretDuringRotation(t *testing.T) {
	oldS, err := turncred.NewSecret("k1", testTURNSecret)
	if err != nil {
		t.Fatal(err)
	}
	srvTLS, _ := relaytest.TLSConfig(t, "127.0.0.1")
	r := relaytest.Start(t, func(c *turnrelay.Config) {
		c.Secrets = []turncred.Secret{relaytest.NewSecret(t, "k2"), oldS}
		c.Listeners = append(c.Listeners, turnrelay.Listener{Transport: relay.TLS, Addr: "127.0.0.1:0", TLS: srvTLS})
	})
	uris := []string{"turn:" + r.Addr(relay.UDP), "turn:" + r.Addr(relay.TCP) + "?transport=tcp", "turns:" + r.Addr(relay.TLS) + "?transport=tcp"}
	quick := []string{"check", "--json", "--count", "3", "--interval", "5ms", "--insecure-skip-verify"}
	out, stdout, _ := relayctlJSON[checkOutput](t, nil, exitOK, append(append(quick, "--secret", testTURNSecret), uris...)...)
	if !out.Works || out.Summary != "UDP works; TCP works; TLS works" {
		t.Errorf("check with the old secret bare: works %v, summary %q; want all three:\n%s", out.Works, out.Summary, stdout)
	}
	out, stdout, _ = relayctlJSON[checkOutput](t, nil, exitProblem, append(append(quick, "--secret", "not-the-relays-0123456789abcdef"), uris[0])...)
	if out.Works || len(out.Results) != 1 || !strings.Contains(out.Results[0].Diagnosis, "401") {
		t.Errorf("check with a secret the relay lacks: %s; want 401", stdout)
	}
}

func TestMintTURN(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	bare, _ := turncred.NewBareSecret(testTURNSecret)
	keyed, _ := turncred.NewSecret("k1", testTURNSecret)
	tests := []struct {
		name, secret, user, wantName string
		s                            turncred.Secret
	}{
		{name: "keyed", secret: "k1:" + testTURNSecret, user: "bob", wantName: "1800000600:k1.bob", s: keyed},
		{name: "bare", secret: testTURNSecret, user: "bob", wantName: "1800000600:bob", s: bare},
		{name: "forced bare", secret: ":" + testTURNSecret, user: "bob", wantName: "1800000600:bob", s: bare},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, pw, err := mintTURN(tt.secret, tt.user, 10*time.Minute, now)
			if err != nil || name != tt.wantName || pw != turncred.Password(tt.s, name) {
				t.Errorf("mintTURN() = %q, %v; want %q with its HMAC", name, err, tt.wantName)
			}
		})
	}
	if _, _, err := mintTURN(testTURNSecret, "a:b", time.Minute, now); err == nil {
		t.Error("mintTURN accepted a user with ':'")
	}
}
