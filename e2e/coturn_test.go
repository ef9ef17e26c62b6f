package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/internal/testenv/coturntest"
	"github.com/relaygate/relaygate/turnrelay/relaytest"
	"github.com/relaygate/relaygate/turnrelay/turncred"
)

// randomSecret returns a fresh 48-character TURN REST secret.
func randomSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (apt-get install coturn): %v", tool, err)
		}
	}
}

// startRelaynode runs the built relaynode on loopback with secret (id k1)
// accepting loopback peers, and extra flags, and returns its UDP and TCP
// listeners.
func startRelaynode(t *testing.T, secret string, extra ...string) (p *testenv.Proc, udp, tcp string) {
	t.Helper()
	relaynode := buildCmd(t, "relaynode")
	p = startProc(t, "relaynode", []string{"RELAYNODE_SECRETS=k1:" + secret}, nil, nil, append([]string{relaynode,
		"--listen-udp=127.0.0.1:0", "--listen-tcp=127.0.0.1:0", "--allow-peers=127.0.0.1/32",
		"--drain-timeout=200ms", "--log-level=info"}, extra...)...)
	udp = testenv.WaitLogField(t, p, "relay started", "udp")
	m, _ := testenv.LogLine(p.Logs.String(), "relay started")
	tcp, _ = m["tcp"].(string)
	return p, udp, tcp
}

// startUDPPeer runs coturn's turnutils_peer, a UDP echo server, on a free
// loopback port and waits until it echoes.
func startUDPPeer(t *testing.T) int {
	t.Helper()
	port := testenv.FreeUDPTCPPort(t)
	p := startProc(t, "turnutils_peer", nil, nil, nil, "turnutils_peer", "-L", "127.0.0.1", "-p", strconv.Itoa(port))
	c, err := net.Dial("udp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && !p.Exited() {
		_, _ = c.Write([]byte("ping"))
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, err := c.Read(buf); err == nil && string(buf[:n]) == "ping" {
			return port
		}
	}
	t.Fatalf("turnutils_peer on port %d does not echo:\n%s", port, p.Logs)
	return 0
}

// uclientResult is what turnutils_uclient reports at the end of a run.
type uclientResult struct {
	sent, recv, lost int
	rc               int
	out              string
}

var (
	uclientTotals = regexp.MustCompile(`start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)`)
	uclientLost   = regexp.MustCompile(`Total lost packets (\d+)`)
)

// uclientTimeout bounds one turnutils_uclient run: its clients start at
// random within seconds and send for a second or two.
const uclientTimeout = 60 * time.Second

// uclientLoad is the load a turnutils_uclient run puts through the relay:
// clients each sending messages to the turnutils_peer on peerPort, which
// echoes them. -c: no RTCP allocation (else a second one per client); -X:
// ask for IPv4 explicitly; -z 5: 200 messages/s per client, a light load.
type uclientLoad struct {
	clients, messages, peerPort int
}

// run runs turnutils_uclient against the relay on 127.0.0.1:port with
// usernames minted under secret (-W) and the extra flags.
func (l uclientLoad) run(t *testing.T, secret, port string, flags ...string) uclientResult {
	t.Helper()
	args := append([]string{"-W", secret, "-p", port}, flags...)
	args = append(args, "-X", "-c", "-u", "e2e", "-e", "127.0.0.1", "-r", strconv.Itoa(l.peerPort),
		"-m", strconv.Itoa(l.clients), "-n", strconv.Itoa(l.messages), "-l", "160", "-z", "5", "127.0.0.1")
	return runUclient(t, args...)
}

// wantEchoed fails t unless every message of the run came back.
func (l uclientLoad) wantEchoed(t *testing.T, secret, port string, flags ...string) {
	t.Helper()
	r := l.run(t, secret, port, flags...)
	want := l.clients * l.messages
	if r.rc != 0 || r.sent != want || r.recv != want || r.lost != 0 {
		t.Fatalf("turnutils_uclient: rc %d, sent %d, received %d, lost %d; want rc 0, %d sent, %d received, 0 lost:\n%s",
			r.rc, r.sent, r.recv, r.lost, want, want, testenv.Tail(r.out, 30))
	}
}

// wantRefused fails t unless the relay refused the run's allocations
// (secret is not one the relay holds): a failure, nothing received, and
// coturn's client saying so.
func (l uclientLoad) wantRefused(t *testing.T, secret, port string) {
	t.Helper()
	r := l.run(t, secret, port)
	if r.rc == 0 || r.recv > 0 {
		t.Fatalf("turnutils_uclient with a wrong secret: rc %d, received %d; want a failure and nothing received:\n%s",
			r.rc, r.recv, testenv.Tail(r.out, 30))
	}
	if !strings.Contains(r.out, "Cannot complete Allocation") {
		t.Errorf("turnutils_uclient output lacks the allocation failure:\n%s", testenv.Tail(r.out, 30))
	}
}

// runUclient runs turnutils_uclient with args, bounded by uclientTimeout,
// and parses its totals (-1 when a figure is missing).
func runUclient(t *testing.T, args ...string) uclientResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), uclientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "turnutils_uclient", args...)
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.CombinedOutput()
	r := uclientResult{sent: -1, recv: -1, lost: -1, out: string(out)}
	if ctx.Err() != nil {
		t.Fatalf("turnutils_uclient %s did not finish within %v:\n%s", strings.Join(args, " "), uclientTimeout, testenv.Tail(r.out, 30))
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.rc = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("turnutils_uclient: %v", err)
	}
	if m := uclientTotals.FindAllStringSubmatch(r.out, -1); len(m) > 0 {
		last := m[len(m)-1]
		r.sent, _ = strconv.Atoi(last[1])
		r.recv, _ = strconv.Atoi(last[2])
	}
	if m := uclientLost.FindStringSubmatch(r.out); m != nil {
		r.lost, _ = strconv.Atoi(m[1])
	}
	return r
}

// TestCoturnClientAgainstRelaynode: coturn's own test client, speaking
// TURN REST auth (-W) with usernames it mints itself ("<ts>:e2e"), gets
// every message echoed through the relaynode binary, over UDP and TCP, with
// ChannelData and with Send indications; a wrong secret gets nothing.
func TestCoturnClientAgainstRelaynode(t *testing.T) {
	requireTools(t, "turnutils_uclient", "turnutils_peer")
	secret := randomSecret(t)
	rn, udp, tcp := startRelaynode(t, secret)
	peerPort := startUDPPeer(t)
	port := func(addr string) string {
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatalf("listener %q: %v", addr, err)
		}
		return p
	}
	load := uclientLoad{clients: 2, messages: 40, peerPort: peerPort}

	tests := []struct {
		name  string
		flags []string
		port  string
	}{
		{name: "udp channel data", port: port(udp)},
		{name: "udp send indications", flags: []string{"-s"}, port: port(udp)},
		{name: "tcp channel data", flags: []string{"-t"}, port: port(tcp)},
	}
	// The clients start at random within seconds: run them side by side.
	t.Run("clients", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				load.wantEchoed(t, secret, tt.port, tt.flags...)
			})
		}
		t.Run("wrong secret is refused", func(t *testing.T) {
			t.Parallel()
			load.wantRefused(t, randomSecret(t), port(udp))
		})
	})

	stopClean(t, rn)
	if logs := rn.Logs.String(); strings.Contains(logs, secret) {
		t.Errorf("relaynode logged its secret")
	}
}

// TestCoturnClientDuringRotation: relaynode rotating its secret holds
// [new, old], as coturn would with two static-auth-secrets. coturn's own
// test client, with -W minting un-keyed usernames ("<ts>:e2e") under the
// OLD secret, gets every message echoed through it over UDP, TCP and TLS,
// as it would on coturn; under the new secret too; under a secret the
// relay does not hold it is refused.
func TestCoturnClientDuringRotation(t *testing.T) {
	requireTools(t, "turnutils_uclient", "turnutils_peer")
	newSecret, oldSecret := randomSecret(t), randomSecret(t)
	dir := t.TempDir()
	certPEM, keyPEM, err := relaytest.SelfSignedPEM("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	rn := startProc(t, "relaynode", []string{"RELAYNODE_SECRETS=new-id:" + newSecret + ",old-id:" + oldSecret}, nil, nil,
		buildCmd(t, "relaynode"), "--listen-udp=127.0.0.1:0", "--listen-tcp=127.0.0.1:0", "--listen-tls=127.0.0.1:0",
		"--tls-cert="+certFile, "--tls-key="+keyFile, "--allow-peers=127.0.0.1/32", "--drain-timeout=200ms", "--log-level=info")
	testenv.WaitLogField(t, rn, "relay started", "udp")
	started, _ := testenv.LogLine(rn.Logs.String(), "relay started")
	port := func(transport string) string {
		addr, _ := started[transport].(string)
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatalf("%s listener %q: %v", transport, addr, err)
		}
		return p
	}
	peerPort := startUDPPeer(t)
	load := uclientLoad{clients: 2, messages: 20, peerPort: peerPort}
	tests := []struct {
		name   string
		secret string
		flags  []string
		port   string
	}{
		{name: "old secret over udp", secret: oldSecret, port: port("udp")},
		{name: "old secret over tcp", secret: oldSecret, flags: []string{"-t"}, port: port("tcp")},
		{name: "old secret over tls", secret: oldSecret, flags: []string{"-t", "-S"}, port: port("tls")},
		{name: "new secret over udp", secret: newSecret, port: port("udp")},
	}
	t.Run("clients", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				load.wantEchoed(t, tt.secret, tt.port, tt.flags...)
			})
		}
		t.Run("a secret the relay does not hold is refused", func(t *testing.T) {
			t.Parallel()
			load.wantRefused(t, randomSecret(t), port("udp"))
		})
	})

	stopClean(t, rn)
	if logs := rn.Logs.String(); strings.Contains(logs, newSecret) || strings.Contains(logs, oldSecret) || strings.Contains(logs, ":e2e") {
		t.Errorf("relaynode logged a secret or a TURN username")
	}
}

// startGateway runs the built relaygate on 127.0.0.1:0 minting with
// turnSecret (id k1), with extra flags, and returns its base URL.
func startGateway(t *testing.T, turnSecret string, extra ...string) (*testenv.Proc, string) {
	t.Helper()
	return startGatewayOn(t, turnSecret, "127.0.0.1:0", extra...)
}

// startGatewayOn runs the built relaygate on listen minting with turnSecret
// (id k1), with the tests' user, node and admin token secrets, relays
// allowed on loopback and extra flags, and returns its base URL.
func startGatewayOn(t *testing.T, turnSecret, listen string, extra ...string) (*testenv.Proc, string) {
	t.Helper()
	p := startProc(t, "relaygate", []string{
		"RELAYGATE_TURN_SECRETS=k1:" + turnSecret,
		"RELAYGATE_USER_JWT_SECRET=" + userJWTSecret,
		"RELAYGATE_NODE_JWT_SECRET=" + nodeJWTSecret,
		"RELAYGATE_ADMIN_JWT_SECRET=" + adminJWTSecret,
		"RELAYGATE_ALLOW_RELAY_NETWORKS=127.0.0.0/8", // the tests' relays are on loopback
	}, nil, nil, append([]string{buildCmd(t, "relaygate"), "--listen=" + listen, "--shutdown-grace=2s"}, extra...)...)
	addr := testenv.WaitLogField(t, p, "relaygate listening", "addr")
	return p, "http://" + addr
}

// heartbeatFor registers a relay at addr (UDP only) in the gateway, as a
// relaynode heartbeat does.
func heartbeatFor(t *testing.T, gateway, id, addr string) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"region": "local", "site": "lab", "latitude": 50.1, "longitude": 8.7,
		"addresses": [%q], "ports": {"udp": %s},
		"capacity": {"allocations": 1000, "bandwidth_bps": 1000000000},
		"load": {"allocations": 0, "bandwidth_bps": 0}, "draining": false, "version": "coturn"}`, host, port)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, gateway+"/v1/relays/"+id, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testenv.Token(t, nodeJWTSecret, id, time.Hour))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT /v1/relays/%s = %s: %s", id, resp.Status, b)
	}
}

// TestGatewayCredentialsOnCoturn: a credential minted by relaygate's real
// path (the binary, a relay heartbeat, POST /v1/credentials) allocates on
// a stock coturn turnserver started with use-auth-secret, and a packet
// makes the round trip to a peer through it; coturn refuses an expired
// credential and one minted under another secret.
func TestGatewayCredentialsOnCoturn(t *testing.T) {
	requireTools(t, "turnserver")
	secret := randomSecret(t)
	ct := coturntest.Start(t, secret, "coturn.e2e.test")
	gw, gateway := startGateway(t, secret)
	heartbeatFor(t, gateway, "coturn-1", ct.Addr)

	const subject = "alice@example.com"
	// The gateway's snapshot picks the heartbeat up asynchronously (a
	// poke, not a refresh, on PUT): ask until it names the relay.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	creds, err := getCredentials(ctx, gateway, testenv.Token(t, userJWTSecret, subject, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	wantURL := "turn:" + ct.Addr + "?transport=udp"
	if creds.Primary.RelayID != "coturn-1" || len(creds.ICEServers) != 1 || !slices.Contains(creds.ICEServers[0].URLs, wantURL) ||
		creds.ICEServers[0].Username != creds.Username || creds.ICEServers[0].Credential != creds.Credential {
		t.Fatalf("credentials = %+v; want primary coturn-1 with %s and the same username/credential in ice_servers", creds, wantURL)
	}
	if strings.Contains(creds.Username, subject) {
		t.Errorf("username %q carries the subject in clear", creds.Username)
	}

	client, relayed, err := relaytest.Allocate(t, ct.Addr, creds.ICEServers[0].Username, creds.ICEServers[0].Credential)
	if err != nil {
		t.Fatalf("coturn refused relaygate's credential: %v\ncoturn log:\n%s", err, ct.LogTail(30))
	}
	peer := testenv.ListenUDP(t)
	if err := client.CreatePermission(peer.LocalAddr()); err != nil {
		t.Fatalf("CreatePermission on coturn: %v", err)
	}
	echoVia(t, relayed, peer)

	t.Run("refused", func(t *testing.T) {
		other, err := turncred.NewSecret("k1", randomSecret(t))
		if err != nil {
			t.Fatal(err)
		}
		same, err := turncred.NewSecret("k1", secret)
		if err != nil {
			t.Fatal(err)
		}
		mint := func(s turncred.Secret, ttl time.Duration, now time.Time) turncred.Credential {
			m, err := turncred.NewMinter([]turncred.Secret{s}, []byte("e2e-pseudonym-key-0123456789"))
			if err != nil {
				t.Fatal(err)
			}
			return m.Mint(subject, ttl, now)
		}
		tests := []struct {
			name string
			cred turncred.Credential
		}{
			{name: "expired an hour ago", cred: mint(same, time.Minute, time.Now().Add(-time.Hour))},
			{name: "minted under another secret", cred: mint(other, 10*time.Minute, time.Now())},
			{name: "gateway username with a forged password", cred: turncred.Credential{Username: creds.Username, Password: turncred.Password(other, creds.Username)}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, _, err := relaytest.Allocate(t, ct.Addr, tt.cred.Username, tt.cred.Password)
				if err == nil {
					t.Fatalf("coturn allocated for a credential %s", tt.name)
				}
				if !strings.Contains(err.Error(), "401") {
					t.Errorf("coturn refused with %v; want 401 Unauthorized", err)
				}
			})
		}
	})
	stopClean(t, gw)
}

// echoVia sends a datagram through relayed to peer, checks it arrives from
// the relayed address, answers it and reads the answer back.
func echoVia(t *testing.T, relayed, peer net.PacketConn) {
	t.Helper()
	msg := []byte("through coturn with relaygate's credential")
	if _, err := relayed.WriteTo(msg, peer.LocalAddr()); err != nil {
		t.Fatalf("relayed.WriteTo: %v", err)
	}
	buf := make([]byte, 1500)
	_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := peer.ReadFrom(buf)
	if err != nil || !bytes.Equal(buf[:n], msg) {
		t.Fatalf("peer read = %q, %v; want %q", buf[:n], err, msg)
	}
	if from.String() != relayed.LocalAddr().String() {
		t.Errorf("peer saw the datagram from %v, want the relayed address %v", from, relayed.LocalAddr())
	}
	answer := []byte("and back through coturn")
	if _, err := peer.WriteTo(answer, from); err != nil {
		t.Fatal(err)
	}
	_ = relayed.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err = relayed.ReadFrom(buf)
	if err != nil || !bytes.Equal(buf[:n], answer) {
		t.Fatalf("client read = %q, %v; want %q", buf[:n], err, answer)
	}
	if from.String() != peer.LocalAddr().String() {
		t.Errorf("client got the answer from %v, want the peer %v", from, peer.LocalAddr())
	}
}
