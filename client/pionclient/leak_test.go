package pionclient_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"

	"github.com/relaygate/relaygate/client/pionclient"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/turnrelay"
	"github.com/relaygate/relaygate/turnrelay/relaytest"
	"github.com/relaygate/relaygate/wire"
)

// The lab on loopback: the relay listens and relays on relayIP, so its
// relayed addresses (what relay candidates must carry) differ from the
// callers' own address, callerIP, which the kernel picks as the source of
// every connection to relayIP. "Local address" below is callerIP, or any
// ip:port a socket of the caller's ICE agent had (a recording network
// underneath pion tells which).
var (
	relayIP  = netip.MustParseAddr("127.0.0.2")
	callerIP = netip.MustParseAddr("127.0.0.1")
)

const userToken = "test-user-token"

// startRelay runs a relaygate TURN relay on relayIP (UDP and TCP) that
// lets its own relayed addresses reach each other.
func startRelay(t *testing.T) *relaytest.Relay {
	t.Helper()
	return relaytest.Start(t, func(c *turnrelay.Config) {
		c.Listeners = []turnrelay.Listener{
			{Transport: relay.UDP, Addr: relayIP.String() + ":0"},
			{Transport: relay.TCP, Addr: relayIP.String() + ":0"},
		}
		c.AllowPeers = []netip.Prefix{netip.PrefixFrom(relayIP, 32)}
	})
}

// startGateway serves POST /v1/credentials as relaygate does, for one
// relay and the given transports: bearer token checked, a fresh TURN REST
// credential, relay policy.
func startGateway(t *testing.T, r *relaytest.Relay, transports ...relay.Transport) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost || req.URL.Path != "/v1/credentials" {
			http.NotFound(w, req)
			return
		}
		if req.Header.Get("Authorization") != "Bearer "+userToken {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"type":"urn:relaygate:problem:unauthorized","title":"Authentication required","status":401}`))
			return
		}
		cred := r.Credential("user", 10*time.Minute)
		var urls []string
		for _, tr := range transports {
			urls = append(urls, fmt.Sprintf("turn:%s?transport=%s", r.Addr(tr), tr))
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(wire.Credentials{
			Username: cred.Username, Credential: cred.Password, TTLSeconds: 600, ExpiresAt: cred.Expires,
			Primary:            wire.RelayChoice{RelayID: "lo-1", Region: "lo", Site: "lo", URLs: urls, Basis: relay.Basis("fallback")},
			ICEServers:         []wire.ICEServer{{URLs: urls, Username: cred.Username, Credential: cred.Password}},
			ICETransportPolicy: wire.ICETransportPolicyRelay,
		})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// recordingNet is the host's network, recording the local address of
// every socket pion opens through it.
type recordingNet struct {
	transport.Net
	mu    sync.Mutex
	local []netip.AddrPort // guarded by mu
}

func newRecordingNet(t *testing.T) *recordingNet {
	t.Helper()
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	return &recordingNet{Net: n}
}

func (n *recordingNet) record(a net.Addr) {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return
	}
	n.mu.Lock()
	n.local = append(n.local, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
	n.mu.Unlock()
}

func (n *recordingNet) locals() []netip.AddrPort {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.local)
}

func (n *recordingNet) ListenPacket(network, address string) (net.PacketConn, error) {
	c, err := n.Net.ListenPacket(network, address)
	if err == nil {
		n.record(c.LocalAddr())
	}
	return c, err
}

func (n *recordingNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err == nil {
		n.record(c.LocalAddr())
	}
	return c, err
}

func (n *recordingNet) DialUDP(network string, laddr, raddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.DialUDP(network, laddr, raddr)
	if err == nil {
		n.record(c.LocalAddr())
	}
	return c, err
}

func (n *recordingNet) DialTCP(network string, laddr, raddr *net.TCPAddr) (transport.TCPConn, error) {
	c, err := n.Net.DialTCP(network, laddr, raddr)
	if err == nil {
		n.record(c.LocalAddr())
	}
	return c, err
}

func (n *recordingNet) Dial(network, address string) (net.Conn, error) {
	c, err := n.Net.Dial(network, address)
	if err == nil {
		n.record(c.LocalAddr())
	}
	return c, err
}

// candidate is an a=candidate line taken apart by fields, independently
// of pion's parser.
type candidate struct {
	line         string
	component    string
	addr         netip.Addr
	port         int
	typ          string
	raddr        string // "" when absent
	rport        int
	hasRelatedTo bool
}

func parseCandidate(t *testing.T, line string) candidate {
	t.Helper()
	line = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(line), "a="), "candidate:")
	f := strings.Fields(line)
	if len(f) < 8 || f[6] != "typ" {
		t.Fatalf("candidate %q does not have the RFC 8839 shape", line)
	}
	c := candidate{line: line, component: f[1], typ: f[7]}
	var err error
	if c.addr, err = netip.ParseAddr(f[4]); err != nil {
		t.Fatalf("candidate %q: address: %v", line, err)
	}
	if c.port, err = strconv.Atoi(f[5]); err != nil {
		t.Fatalf("candidate %q: port: %v", line, err)
	}
	for i := 8; i+1 < len(f); i += 2 {
		switch f[i] {
		case "raddr":
			c.raddr, c.hasRelatedTo = f[i+1], true
		case "rport":
			if c.rport, err = strconv.Atoi(f[i+1]); err != nil {
				t.Fatalf("candidate %q: rport: %v", line, err)
			}
		}
	}
	return c
}

func sdpCandidates(t *testing.T, sdp string) []candidate {
	t.Helper()
	var out []candidate
	for _, line := range strings.Split(sdp, "\n") {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "a=candidate:") {
			out = append(out, parseCandidate(t, line))
		}
	}
	return out
}

// leaks says how c gives away a local address of the agent that signalled
// it (callerIP, or an address or port one of its sockets had), "" when it
// does not.
func leaks(c candidate, locals []netip.AddrPort) string {
	if c.addr == callerIP {
		return "its address is the caller's"
	}
	ra, err := netip.ParseAddr(c.raddr)
	if c.hasRelatedTo && (err != nil || !ra.IsUnspecified()) {
		if ra == callerIP {
			return "its raddr is the caller's address"
		}
		return "its raddr is not blank"
	}
	for _, l := range locals {
		if c.rport != 0 && c.rport == int(l.Port()) {
			return fmt.Sprintf("its rport is the local port of a socket at %v", l)
		}
		if c.port == int(l.Port()) && c.addr == l.Addr() {
			return fmt.Sprintf("its address is a local socket's, %v", l)
		}
	}
	return ""
}

// gather makes an offer on pc with a data channel and returns its SDP
// once gathering is complete, and every candidate trickled meanwhile
// (through handler, when set; else through pc.OnICECandidate).
func gather(t *testing.T, pc *webrtc.PeerConnection, onCandidate func(*webrtc.PeerConnection, func(*webrtc.ICECandidate))) (string, []string) {
	t.Helper()
	var mu sync.Mutex
	var trickled []string
	onCandidate(pc, func(c *webrtc.ICECandidate) {
		if c != nil {
			mu.Lock()
			trickled = append(trickled, c.ToJSON().Candidate)
			mu.Unlock()
		}
	})
	if _, err := pc.CreateDataChannel("probe", nil); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(30 * time.Second):
		t.Fatal("ICE gathering did not complete within 30s")
	}
	mu.Lock()
	defer mu.Unlock()
	return pc.LocalDescription().SDP, slices.Clone(trickled)
}

func plainOnICECandidate(pc *webrtc.PeerConnection, f func(*webrtc.ICECandidate)) {
	pc.OnICECandidate(f)
}

// plainPC is what a pion app does with the gateway's answer as-is: relay
// policy, mDNS off, nothing else.
func plainPC(t *testing.T, gateway string, n transport.Net) *webrtc.PeerConnection {
	t.Helper()
	c, err := pionclient.New(gateway, pionclient.StaticToken(userToken), pionclient.Config{})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := c.Credentials(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNet(n)
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(pionclient.Configuration(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return pc
}

func hardenedPC(t *testing.T, gateway string, n transport.Net) *webrtc.PeerConnection {
	t.Helper()
	c, err := pionclient.New(gateway, pionclient.StaticToken(userToken), pionclient.Config{Net: n})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := c.NewPeerConnection(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return pc
}

// TestPlainPionLeaksLocalAddress is the control: pion with the gateway's
// relay-only configuration as-is signals relay candidates whose related
// address is the caller's own socket: over TURN/TCP its IP and port, over
// TURN/UDP its port. The checks pionclient makes catch both.
func TestPlainPionLeaksLocalAddress(t *testing.T) {
	r := startRelay(t)
	for _, tr := range []relay.Transport{relay.TCP, relay.UDP} {
		t.Run("turn over "+tr.String(), func(t *testing.T) {
			n := newRecordingNet(t)
			sdp, _ := gather(t, plainPC(t, startGateway(t, r, tr), n), plainOnICECandidate)
			cands := sdpCandidates(t, sdp)
			if len(cands) == 0 {
				t.Fatalf("no candidates gathered:\n%s", sdp)
			}
			var leaked int
			for _, c := range cands {
				if c.typ != "relay" {
					t.Errorf("candidate %q is not a relay candidate", c.line)
				}
				if why := leaks(c, n.locals()); why != "" {
					leaked++
					t.Logf("plain pion, TURN/%s: %q leaks: %s", tr, c.line, why)
				}
			}
			if leaked == 0 {
				t.Fatalf("plain pion signalled no local address; the leak test would prove nothing:\n%s", sdp)
			}
			if tr == relay.TCP && !slices.ContainsFunc(cands, func(c candidate) bool { return c.raddr == callerIP.String() }) {
				t.Errorf("plain pion over TURN/TCP: no relay candidate has raddr %v:\n%s", callerIP, sdp)
			}
			if err := pionclient.CheckSDP(sdp); !errors.Is(err, pionclient.ErrUnsafeCandidate) {
				t.Errorf("CheckSDP(plain pion's SDP) = %v, want ErrUnsafeCandidate", err)
			}
		})
	}
}

// TestHardenedSignalsNoLocalAddress: the same gateway answer through
// pionclient: only relay candidates, at the relay's address, none with a
// related address or any address or port the caller's sockets had, in the
// SDP and in every trickled candidate.
func TestHardenedSignalsNoLocalAddress(t *testing.T) {
	r := startRelay(t)
	for _, trs := range [][]relay.Transport{{relay.TCP}, {relay.UDP}, {relay.UDP, relay.TCP}} {
		t.Run(fmt.Sprintf("turn over %v", trs), func(t *testing.T) {
			n := newRecordingNet(t)
			pc := hardenedPC(t, startGateway(t, r, trs...), n)
			sdp, trickled := gather(t, pc, pionclient.OnICECandidate)
			checkClean(t, sdp, trickled, n.locals(), len(trs))
			t.Logf("pionclient, TURN over %v: %q", trs, trickled)
			if err := pionclient.CheckSDP(sdp); err != nil {
				t.Errorf("CheckSDP = %v", err)
			}
		})
	}
}

// checkClean asserts the SDP and trickled candidates of one hardened agent.
func checkClean(t *testing.T, sdp string, trickled []string, locals []netip.AddrPort, wantRelays int) {
	t.Helper()
	if len(locals) == 0 {
		t.Fatal("the recording network saw no socket: the leak check would prove nothing")
	}
	cands := sdpCandidates(t, sdp)
	if len(cands) < wantRelays {
		t.Errorf("SDP has %d candidates, want a relay candidate for each of %d TURN URLs:\n%s", len(cands), wantRelays, sdp)
	}
	// pion writes each candidate twice in the SDP, for components 1
	// and 2; it trickles it once.
	if rtp := slices.DeleteFunc(slices.Clone(cands), func(c candidate) bool { return c.component != "1" }); len(trickled) != len(rtp) {
		t.Errorf("%d candidates trickled, %d in the SDP", len(trickled), len(rtp))
	}
	for _, line := range trickled {
		cands = append(cands, parseCandidate(t, line))
	}
	for _, c := range cands {
		if c.typ != "relay" || c.addr != relayIP {
			t.Errorf("candidate %q: want only relay candidates at the relay %v", c.line, relayIP)
		}
		if why := leaks(c, locals); why != "" {
			t.Errorf("candidate %q leaks: %s", c.line, why)
		}
		// Present and blank, as Firefox insists on (nICEr refuses a relay
		// candidate without raddr and rport, or with rport 0).
		if !c.hasRelatedTo || c.raddr != "0.0.0.0" || c.rport != pionclient.BlankRelatedPort {
			t.Errorf("candidate %q: want raddr 0.0.0.0 rport %d", c.line, pionclient.BlankRelatedPort)
		}
	}
	if strings.Contains(sdp, callerIP.String()) {
		t.Errorf("SDP names the caller's address %v:\n%s", callerIP, sdp)
	}
}
