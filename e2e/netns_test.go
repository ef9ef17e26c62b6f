package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/relaygate/relaygate/internal/testenv"
)

// The lab: three network namespaces, nothing in the root namespace.
//
//	caller 10.200.1.2 ──veth── 10.200.1.1 ┐
//	                                       relay (10.200.0.1 on lo: relaynode, relaygate; forwards IPv4)
//	callee 10.200.2.2 ──veth── 10.200.2.1 ┘
//
// The relay namespace routes between caller and callee, so the parties
// could reach each other directly: only the relay policy and the relay
// keep them apart (the control case shows a direct call does leak).
const (
	relayIP  = "10.200.0.1"
	callerIP = "10.200.1.2"
	callerGW = "10.200.1.1"
	calleeIP = "10.200.2.2"
	calleeGW = "10.200.2.1"
)

var (
	callerNet = netip.MustParsePrefix("10.200.1.0/24")
	calleeNet = netip.MustParsePrefix("10.200.2.0/24")
)

type lab struct{ relay, caller, callee string }

func requireNetns(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip")
	}
}

// ipRun runs `ip args...`, bounded in time.
func ipRun(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func mustIP(t *testing.T, args ...string) {
	t.Helper()
	if err := ipRun(args...); err != nil {
		t.Fatal(err)
	}
}

// newLab builds the namespaces; they (and their veths) go when the test ends.
func newLab(t *testing.T) *lab {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	l := &lab{relay: "rge2e-" + id + "-relay", caller: "rge2e-" + id + "-caller", callee: "rge2e-" + id + "-callee"}
	for _, ns := range []string{l.relay, l.caller, l.callee} {
		mustIP(t, "netns", "add", ns)
		t.Cleanup(func() {
			if err := ipRun("netns", "del", ns); err != nil {
				t.Errorf("removing namespace: %v", err)
			}
		})
		// No IPv6 at all: no link-local chatter, every packet is accounted for.
		// (/proc/sys/net is the namespace's own for a process inside it.)
		if _, err := os.Stat("/proc/sys/net/ipv6"); err == nil {
			mustIP(t, "netns", "exec", ns, "sh", "-c",
				"echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6 && echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6")
		}
		mustIP(t, "-n", ns, "link", "set", "lo", "up")
	}
	mustIP(t, "netns", "exec", l.relay, "sh", "-c", "echo 1 >/proc/sys/net/ipv4/ip_forward")
	for _, side := range []struct {
		ns, veth, ip, gw string
	}{{l.caller, "rgc" + id, callerIP, callerGW}, {l.callee, "rge" + id, calleeIP, calleeGW}} {
		// Created directly inside the namespaces: nothing appears in root.
		mustIP(t, "link", "add", side.veth+"a", "netns", side.ns, "type", "veth", "peer", "name", side.veth+"b", "netns", l.relay)
		t.Cleanup(func() { _ = ipRun("link", "del", side.veth+"a") }) // only if a namespace move failed half-way
		mustIP(t, "-n", side.ns, "addr", "add", side.ip+"/24", "dev", side.veth+"a")
		mustIP(t, "-n", side.ns, "link", "set", side.veth+"a", "up")
		mustIP(t, "-n", side.ns, "route", "add", "default", "via", side.gw)
		mustIP(t, "-n", l.relay, "addr", "add", side.gw+"/24", "dev", side.veth+"b")
		mustIP(t, "-n", l.relay, "link", "set", side.veth+"b", "up")
	}
	mustIP(t, "-n", l.relay, "addr", "add", relayIP+"/32", "dev", "lo")
	return l
}

// inNS is the argv that runs argv inside ns.
func inNS(ns string, argv ...string) []string {
	return append([]string{"ip", "netns", "exec", ns}, argv...)
}

// signalMsg is one line between the test and a peer helper.
type signalMsg struct {
	Type   string      `json:"type"` // offer, answer, done, finish, report, error
	SDP    string      `json:"sdp,omitempty"`
	Report *peerReport `json:"report,omitempty"`
	Error  string      `json:"error,omitempty"`
}

// peerReport is what a peer saw of the call.
type peerReport struct {
	Role             string          `json:"role"`
	Sent             int             `json:"sent"`
	Received         int             `json:"received"`
	LocalCandidates  []candidateInfo `json:"local_candidates"`  // getStats local-candidate
	RemoteCandidates []candidateInfo `json:"remote_candidates"` // getStats remote-candidate
	RemoteSDP        string          `json:"remote_sdp"`        // the remote description, as applied
	SelectedRemote   string          `json:"selected_remote"`   // the nominated pair's remote ip:port
	Mode             string          `json:"mode"`              // the stack that signalled: modePionclient, modePlainRelay, modePlainAll
	Capture          captureReport   `json:"capture"`
}

type candidateInfo struct {
	IP   string `json:"ip"`
	Port int32  `json:"port"`
	Type string `json:"type"`
}

// peerHelper is a running caller or callee in its namespace.
type peerHelper struct {
	p     *testenv.Proc
	in    *json.Encoder
	inW   *os.File
	lines chan signalMsg // closed at EOF
}

func startPeer(t *testing.T, ns, role string, env ...string) *peerHelper {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	env = append(env, helperEnv+"="+role)
	p := startProc(t, role, env, inR, outW, inNS(ns, self)...)
	inR.Close()
	outW.Close()
	t.Cleanup(func() { inW.Close(); outR.Close() })
	h := &peerHelper{p: p, in: json.NewEncoder(inW), inW: inW, lines: make(chan signalMsg, 8)}
	go func() {
		defer close(h.lines)
		sc := bufio.NewScanner(outR)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			var m signalMsg
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				m = signalMsg{Type: "error", Error: fmt.Sprintf("not a JSON line: %q", sc.Text())}
			}
			h.lines <- m
		}
	}()
	return h
}

// next waits for the helper's next message, which must be of type want.
func (h *peerHelper) next(t *testing.T, want string, timeout time.Duration) signalMsg {
	t.Helper()
	select {
	case m, ok := <-h.lines:
		switch {
		case !ok:
			<-h.p.Done()
			t.Fatalf("%s ended (%v) before sending %q", h.p.Name, h.p.Err(), want)
		case m.Type == "error":
			t.Fatalf("%s failed: %s", h.p.Name, m.Error)
		case m.Type != want:
			t.Fatalf("%s sent %q, want %q", h.p.Name, m.Type, want)
		}
		return m
	case <-time.After(timeout):
		t.Fatalf("%s sent no %q within %v", h.p.Name, want, timeout)
	}
	return signalMsg{}
}

func (h *peerHelper) send(t *testing.T, m signalMsg) {
	t.Helper()
	if err := h.in.Encode(m); err != nil {
		t.Fatalf("to %s: %v", h.p.Name, err)
	}
}

// report asks for the helper's report; the call stays up.
func (h *peerHelper) report(t *testing.T) peerReport {
	t.Helper()
	h.send(t, signalMsg{Type: "finish"})
	m := h.next(t, "report", 30*time.Second)
	if m.Report == nil {
		t.Fatalf("%s sent an empty report", h.p.Name)
	}
	return *m.Report
}

// hangUp closes the helper's stdin and waits for a clean exit.
func (h *peerHelper) hangUp(t *testing.T) {
	t.Helper()
	h.inW.Close()
	select {
	case <-h.p.Done():
	case <-time.After(15 * time.Second):
		t.Fatalf("%s did not exit within 15s of hanging up", h.p.Name)
	}
	requireCleanExit(t, h.p)
}

// sdpCandidates returns the a=candidate lines of an SDP.
func sdpCandidates(sdp string) []string {
	var out []string
	for _, line := range strings.Split(sdp, "\n") {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "a=candidate:") {
			out = append(out, strings.TrimPrefix(line, "a="))
		}
	}
	return out
}

// candidateAddr parses "candidate:<foundation> <component> <transport>
// <priority> <address> <port> typ <type> [raddr <a> rport <p>] ...".
func candidateAddr(c string) (addr, typ, raddr string) {
	f := strings.Fields(c)
	if len(f) < 8 {
		return "", "", ""
	}
	addr, typ = f[4], f[7]
	if i := slices.Index(f, "raddr"); i >= 0 && i+1 < len(f) {
		raddr = f[i+1]
	}
	return addr, typ, raddr
}

// call runs one call between the lab's namespaces, both peers in the given
// mode (modePionclient, as a Go app should; modePlainRelay or modePlainAll,
// the controls) and returns what the test forwarded to each side and both
// reports.
func call(t *testing.T, l *lab, gateway, mode string, messages int) (offer, answer string, caller, callee peerReport) {
	t.Helper()
	common := []string{
		"RELAYGATE_E2E_GATEWAY=" + gateway,
		"RELAYGATE_E2E_MODE=" + mode,
		"RELAYGATE_E2E_MESSAGES=" + strconv.Itoa(messages),
	}
	cr := startPeer(t, l.caller, "caller", append(common, "RELAYGATE_E2E_TOKEN="+testenv.Token(t, userJWTSecret, "caller-user", time.Hour),
		"RELAYGATE_E2E_WATCH="+calleeNet.String(), "RELAYGATE_E2E_WATCH_IP="+calleeIP)...)
	ce := startPeer(t, l.callee, "callee", append(common, "RELAYGATE_E2E_TOKEN="+testenv.Token(t, userJWTSecret, "callee-user", time.Hour),
		"RELAYGATE_E2E_WATCH="+callerNet.String(), "RELAYGATE_E2E_WATCH_IP="+callerIP)...)

	offer = cr.next(t, "offer", 40*time.Second).SDP
	ce.send(t, signalMsg{Type: "offer", SDP: offer})
	answer = ce.next(t, "answer", 40*time.Second).SDP
	cr.send(t, signalMsg{Type: "answer", SDP: answer})
	cr.next(t, "done", 40*time.Second)
	callee = ce.report(t)
	caller = cr.report(t)
	ce.hangUp(t)
	cr.hangUp(t)
	return offer, answer, caller, callee
}

// TestRelayHidesCallerAddress is the product's promise, end to end: a
// WebRTC call between two namespaces that can reach each other directly,
// both peers pion apps on pionclient with credentials and relays from a
// running relaygate, media through a relaynode that heartbeats into it.
// Neither the candidates the callee learns (signalled or in getStats) nor
// any packet in the callee's namespace carries the caller's address; the
// same holds the other way round. Two control calls on the same network
// show the detectors see the caller when the promise is broken: plain pion
// with the gateway's relay policy as-is signals the caller's address as
// the related address of its TURN/TCP candidate, and plain pion with
// policy "all" bypasses the relay.
func TestRelayHidesCallerAddress(t *testing.T) {
	requireNetns(t)
	relaynode, relaygate := buildCmd(t, "relaynode"), buildCmd(t, "relaygate")
	l := newLab(t)
	secret := randomSecret(t)

	gw := startProc(t, "relaygate", []string{
		"RELAYGATE_TURN_SECRETS=k1:" + secret,
		"RELAYGATE_USER_JWT_SECRET=" + userJWTSecret,
		"RELAYGATE_NODE_JWT_SECRET=" + nodeJWTSecret,
		"RELAYGATE_ALLOW_RELAY_NETWORKS=" + relayIP + "/32", // the lab's relay has a private address
	}, nil, nil, inNS(l.relay, relaygate, "--listen="+relayIP+":0", "--shutdown-grace=2s")...)
	gateway := "http://" + testenv.WaitLogField(t, gw, "relaygate listening", "addr")

	const relayID = "lab-1"
	rn := startProc(t, "relaynode", []string{
		"RELAYNODE_SECRETS=k1:" + secret,
		"RELAYNODE_NODE_TOKEN=" + testenv.Token(t, nodeJWTSecret, relayID, time.Hour),
	}, nil, nil, inNS(l.relay, relaynode,
		"--listen-udp="+relayIP+":0", "--listen-tcp="+relayIP+":0", "--public-ip="+relayIP,
		// Both parties allocate here: each one's peer is the other's
		// relayed address, the relay's own.
		"--allow-peers="+relayIP+"/32",
		"--relay-ports=40000-40999", "--max-allocations=100",
		"--gateway-url="+gateway, "--id="+relayID, "--region=lab", "--site=netns", "--lat=50.1", "--lon=8.7",
		"--heartbeat-interval=1s", "--drain-timeout=200ms")...)
	testenv.WaitLogField(t, rn, "relay started", "udp")

	const messages = 20
	t.Run("pionclient hides the caller", func(t *testing.T) {
		offer, answer, caller, callee := call(t, l, gateway, modePionclient, messages)
		if caller.Received != messages || callee.Received != messages || caller.Sent != messages || callee.Sent != messages {
			t.Errorf("data channel: caller sent %d received %d, callee sent %d received %d; want %d each way",
				caller.Sent, caller.Received, callee.Sent, callee.Received, messages)
		}
		checkHidden(t, "callee", offer, callee, callerIP, callerNet, calleeIP, calleeGW)
		checkHidden(t, "caller", answer, caller, calleeIP, calleeNet, callerIP, callerGW)
	})

	t.Run("control: plain pion with the relay policy leaks the caller in raddr", func(t *testing.T) {
		offer, _, caller, callee := call(t, l, gateway, modePlainRelay, messages)
		if caller.Received != messages || callee.Received != messages {
			t.Errorf("data channel: caller received %d, callee %d; want %d each", caller.Received, callee.Received, messages)
		}
		var leaking []string
		for _, c := range sdpCandidates(callee.RemoteSDP) {
			if _, typ, raddr := candidateAddr(c); typ == "relay" && raddr == callerIP {
				leaking = append(leaking, c)
			}
		}
		if len(leaking) == 0 {
			t.Fatalf("control: the callee's remote SDP has no relay candidate with raddr %s; pionclient's hardening would prove nothing:\n%s", callerIP, callee.RemoteSDP)
		}
		if !strings.Contains(offer, "raddr "+callerIP) {
			t.Errorf("control: the signalled offer does not carry raddr %s", callerIP)
		}
		t.Logf("control: plain pion (relay policy) signalled %q", leaking)
	})

	t.Run("control: policy all exposes the caller", func(t *testing.T) {
		offer, _, _, callee := call(t, l, gateway, modePlainAll, messages)
		if !slices.ContainsFunc(sdpCandidates(offer), func(c string) bool { a, _, _ := candidateAddr(c); return a == callerIP }) {
			t.Errorf("control offer has no host candidate %s; the candidate check would prove nothing:\n%s", callerIP, offer)
		}
		if len(callee.Capture.Hits) == 0 {
			t.Errorf("control: the callee's capture never saw %s; the capture check would prove nothing: %+v", callerIP, callee.Capture)
		}
		t.Logf("control: the callee's capture saw the caller: %v", callee.Capture.Hits[:min(3, len(callee.Capture.Hits))])
	})

	stopClean(t, rn)
	stopClean(t, gw)
	// The relay and the gateway saw both parties' addresses; their logs
	// must not keep them.
	for _, p := range []*testenv.Proc{rn, gw} {
		for _, ip := range []string{callerIP, calleeIP} {
			if strings.Contains(p.Logs.String(), ip) {
				t.Errorf("%s logged a party's address %s:\n%s", p.Name, ip, testenv.Tail(p.Logs.String(), 40))
			}
		}
	}
}

// checkHidden asserts that who (in namespace addresses self and gw) learnt
// nothing of the other party (other, in otherNet): the signalled SDP it got,
// its remote candidates in getStats and everything its namespace carried
// name the relay only.
func checkHidden(t *testing.T, who, gotSDP string, r peerReport, other string, otherNet netip.Prefix, self, gw string) {
	t.Helper()
	// (a) candidates
	cands := sdpCandidates(gotSDP)
	if len(cands) == 0 {
		t.Errorf("%s: the SDP it got has no candidates:\n%s", who, gotSDP)
	}
	for _, c := range cands {
		addr, typ, raddr := candidateAddr(c)
		if addr != relayIP || typ != "relay" {
			t.Errorf("%s learnt candidate %q; want only relay candidates at %s", who, c, relayIP)
		}
		if ra, err := netip.ParseAddr(raddr); err == nil && otherNet.Contains(ra) {
			t.Errorf("%s learnt candidate %q whose related address is the other party's", who, c)
		}
	}
	for _, sdp := range []string{gotSDP, r.RemoteSDP} {
		if strings.Contains(sdp, other) || strings.Contains(sdp, strings.TrimSuffix(otherNet.Addr().String(), "0")) {
			t.Errorf("%s: the SDP it got names the other party's network %v:\n%s", who, otherNet, sdp)
		}
	}
	if len(r.RemoteCandidates) == 0 {
		t.Errorf("%s: getStats has no remote-candidate entries", who)
	}
	for _, c := range r.RemoteCandidates {
		if c.IP != relayIP || c.Type != "relay" {
			t.Errorf("%s: getStats remote-candidate %+v; want only relay candidates at %s", who, c, relayIP)
		}
	}
	for _, c := range r.LocalCandidates {
		if c.IP != relayIP || c.Type != "relay" {
			t.Errorf("%s: getStats local-candidate %+v; want only its relayed address at %s", who, c, relayIP)
		}
	}
	if host, _, ok := strings.Cut(r.SelectedRemote, ":"); !ok || host != relayIP {
		t.Errorf("%s: selected pair's remote is %q; want the relay %s", who, r.SelectedRemote, relayIP)
	}

	// (b) packets
	cp := r.Capture
	if len(cp.Hits) > 0 {
		t.Errorf("%s's namespace carried the other party's address:\n  %s", who, strings.Join(cp.Hits, "\n  "))
	}
	relayPackets := 0
	for pair, n := range cp.IPv4 {
		f := strings.Fields(pair) // src > dst proto
		if len(f) != 4 || !slices.Contains([]string{self, relayIP}, f[0]) || !slices.Contains([]string{self, relayIP}, f[2]) {
			t.Errorf("%s's namespace carried %d packets %s; want only %s <-> %s", who, n, pair, self, relayIP)
			continue
		}
		if f[0] == relayIP || f[2] == relayIP {
			relayPackets += n
		}
	}
	for _, a := range cp.ARP {
		if a != self && a != gw {
			t.Errorf("%s's namespace carried ARP for %s; want only %s and its next hop %s", who, a, self, gw)
		}
	}
	if len(cp.Other) > 0 {
		t.Errorf("%s's namespace carried non-IPv4 packets %v", who, cp.Other)
	}
	// Each message and its answer cross the namespace once: a capture that
	// saw fewer packets with the relay saw nothing that matters.
	if relayPackets < 2*r.Received || r.Received == 0 {
		t.Errorf("%s's capture saw %d packets with the relay for %d messages: capture not working? %+v", who, relayPackets, r.Received, cp)
	}
	if cp.Drops > 0 {
		t.Errorf("%s's capture dropped %d packets", who, cp.Drops)
	}
	if r.Mode != modePionclient {
		t.Errorf("%s signalled with %q, want %s", r.Role, r.Mode, modePionclient)
	}
	t.Logf("%s: %d candidates learnt, %d remote in getStats, %d packets captured (%d with the relay), ARP %v",
		who, len(cands), len(r.RemoteCandidates), cp.Packets, relayPackets, cp.ARP)
}
