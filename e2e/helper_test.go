package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/relaygate/relaygate/wire"
)

// helperEnv selects a helper mode when the test binary is re-executed
// inside a network namespace (see TestMain and startPeer).
const helperEnv = "RELAYGATE_E2E_HELPER"

// helperTimeout bounds a helper's whole life, whatever the test does.
const helperTimeout = 90 * time.Second

// runHelper is the test binary re-executed inside a namespace as a call
// peer ("caller" or "callee"). It speaks JSON lines: requests on stdin,
// answers on stdout; diagnostics go to stderr. It returns the exit code.
func runHelper(mode string) int {
	ctx, cancel := context.WithTimeout(context.Background(), helperTimeout)
	defer cancel()
	out := json.NewEncoder(os.Stdout)
	if mode != "caller" && mode != "callee" {
		fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
		return 2
	}
	if err := runPeerHelper(ctx, mode, os.Stdin, out); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", mode, err)
		_ = out.Encode(signalMsg{Type: "error", Error: err.Error()})
		return 1
	}
	return 0
}

// lineReader delivers stdin's JSON lines on a channel, so reads can be
// bounded by the context.
func lineReader(f *os.File) <-chan signalMsg {
	ch := make(chan signalMsg)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			var m signalMsg
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				m = signalMsg{Type: "error", Error: err.Error()}
			}
			ch <- m
		}
	}()
	return ch
}

func expect(ctx context.Context, in <-chan signalMsg, want string) (signalMsg, error) {
	select {
	case m, ok := <-in:
		if !ok {
			return m, fmt.Errorf("stdin closed while waiting for %q", want)
		}
		if m.Type != want {
			return m, fmt.Errorf("got %q, want %q", m.Type, want)
		}
		return m, nil
	case <-ctx.Done():
		return signalMsg{}, fmt.Errorf("waiting for %q: %w", want, ctx.Err())
	}
}

// getCredentials asks the gateway until it names a relay (the relay's
// first heartbeat may still be on its way), bounded by ctx.
func getCredentials(ctx context.Context, gateway, userToken string) (wire.Credentials, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := fetchCredentials(ctx, client, gateway, userToken)
		if err == nil {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return c, fmt.Errorf("credentials: %w (last: %w)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// dcCounter counts data-channel traffic from several pion goroutines.
type dcCounter struct {
	mu             sync.Mutex
	sent, received int
	bad            []string
	all            chan struct{} // closed when received reaches want
	want           int
}

func (c *dcCounter) addSent() { c.mu.Lock(); c.sent++; c.mu.Unlock() }

func (c *dcCounter) addReceived(msg, wantPrefix string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !strings.HasPrefix(msg, wantPrefix) {
		c.bad = append(c.bad, msg)
		return
	}
	c.received++
	if c.received == c.want {
		close(c.all)
	}
}

func (c *dcCounter) counts() (sent, received int, bad []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent, c.received, append([]string(nil), c.bad...)
}

func runPeerHelper(ctx context.Context, role string, stdin *os.File, out *json.Encoder) error {
	watch, err := netip.ParsePrefix(os.Getenv("RELAYGATE_E2E_WATCH"))
	if err != nil {
		return fmt.Errorf("RELAYGATE_E2E_WATCH: %w", err)
	}
	watchIP, err := netip.ParseAddr(os.Getenv("RELAYGATE_E2E_WATCH_IP"))
	if err != nil {
		return fmt.Errorf("RELAYGATE_E2E_WATCH_IP: %w", err)
	}
	messages, err := strconv.Atoi(os.Getenv("RELAYGATE_E2E_MESSAGES"))
	if err != nil || messages < 1 || messages > 1000 {
		return fmt.Errorf("RELAYGATE_E2E_MESSAGES %q: want 1..1000", os.Getenv("RELAYGATE_E2E_MESSAGES"))
	}
	// Capture first: every packet of this namespace from here on is seen.
	capt, err := startCapture(watch, watchIP)
	if err != nil {
		return err
	}
	captured := false
	defer func() {
		if !captured {
			capt.finish()
		}
	}()
	in := lineReader(stdin)

	creds, err := getCredentials(ctx, os.Getenv("RELAYGATE_E2E_GATEWAY"), os.Getenv("RELAYGATE_E2E_TOKEN"))
	if err != nil {
		return err
	}
	if creds.ICETransportPolicy != "relay" {
		return fmt.Errorf("gateway says ice_transport_policy %q, want relay", creds.ICETransportPolicy)
	}
	cfg := webrtc.Configuration{ICETransportPolicy: webrtc.ICETransportPolicyRelay}
	if os.Getenv("RELAYGATE_E2E_POLICY") == "all" { // the control: an app that ignores the gateway
		cfg.ICETransportPolicy = webrtc.ICETransportPolicyAll
	}
	for _, s := range creds.ICEServers {
		cfg.ICEServers = append(cfg.ICEServers, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled) // no .local names, no multicast
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(cfg)
	if err != nil {
		return err
	}
	defer pc.Close()

	cnt := &dcCounter{all: make(chan struct{}), want: messages}
	var scrubbedAddrs []string
	switch role {
	case "caller":
		dc, err := pc.CreateDataChannel("chat", nil)
		if err != nil {
			return err
		}
		dc.OnOpen(func() {
			for i := range messages {
				if dc.SendText(fmt.Sprintf("caller #%d", i)) == nil {
					cnt.addSent()
				}
			}
		})
		dc.OnMessage(func(m webrtc.DataChannelMessage) { cnt.addReceived(string(m.Data), "callee #") })
		offer, err := pc.CreateOffer(nil)
		if err != nil {
			return err
		}
		if scrubbedAddrs, err = signalLocal(ctx, pc, offer, out); err != nil {
			return err
		}
		m, err := expect(ctx, in, "answer")
		if err != nil {
			return err
		}
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
			return err
		}
		select {
		case <-cnt.all:
		case <-ctx.Done():
			s, r, _ := cnt.counts()
			return fmt.Errorf("sent %d, received %d of %d answers: %w", s, r, messages, ctx.Err())
		}
		if err := out.Encode(signalMsg{Type: "done"}); err != nil {
			return err
		}
	case "callee":
		pc.OnDataChannel(func(dc *webrtc.DataChannel) {
			dc.OnMessage(func(m webrtc.DataChannelMessage) {
				msg := string(m.Data)
				cnt.addReceived(msg, "caller #")
				if n, ok := strings.CutPrefix(msg, "caller #"); ok && dc.SendText("callee #"+n) == nil {
					cnt.addSent()
				}
			})
		})
		m, err := expect(ctx, in, "offer")
		if err != nil {
			return err
		}
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP}); err != nil {
			return err
		}
		answer, err := pc.CreateAnswer(nil)
		if err != nil {
			return err
		}
		if scrubbedAddrs, err = signalLocal(ctx, pc, answer, out); err != nil {
			return err
		}
	}

	if _, err := expect(ctx, in, "finish"); err != nil {
		return err
	}
	// Report with the call still up: the other side reports after us and
	// its getStats must still see the call.
	rep := report(pc, role)
	rep.ScrubbedRelatedAddresses = scrubbedAddrs
	var bad []string
	rep.Sent, rep.Received, bad = cnt.counts()
	if len(bad) > 0 {
		return fmt.Errorf("unexpected data-channel messages %q", bad)
	}
	captured = true
	rep.Capture = capt.finish()
	if err := out.Encode(signalMsg{Type: "report", Report: &rep}); err != nil {
		return err
	}
	// Hang up once the test closes stdin (both reports are in by then).
	select {
	case <-in:
	case <-ctx.Done():
		return errors.New("stdin not closed after the report")
	}
	return pc.Close()
}

// scrubRelatedAddresses removes the related address from relay candidates
// before they are signalled, as libwebrtc does under the relay policy. A
// relay candidate's raddr is the client's own socket address: pion fills it
// in from the local TCP connection for TURN over TCP (for UDP it is the
// wildcard 0.0.0.0), which would hand the other party this party's IP. An
// app that promises to hide addresses must scrub it; so does this one. It
// returns the SDP and the related addresses it removed.
func scrubRelatedAddresses(sdp string) (string, []string) {
	var removed []string
	lines := strings.Split(sdp, "\r\n")
	for i, line := range lines {
		if !strings.HasPrefix(line, "a=candidate:") {
			continue
		}
		f := strings.Fields(line)
		typ := slices.Index(f, "typ")
		ra, rp := slices.Index(f, "raddr"), slices.Index(f, "rport")
		if typ < 0 || typ+1 >= len(f) || f[typ+1] != "relay" || ra < 0 || ra+1 >= len(f) || rp < 0 || rp+1 >= len(f) {
			continue
		}
		if f[ra+1] != "0.0.0.0" && f[ra+1] != "::" {
			removed = append(removed, f[ra+1])
		}
		f[ra+1], f[rp+1] = "0.0.0.0", "0"
		lines[i] = strings.Join(f, " ")
	}
	return strings.Join(lines, "\r\n"), removed
}

// signalLocal sets d (an offer or an answer) as pc's local description,
// and sends it to the other party once ICE gathering is complete, with the
// relay candidates' related addresses scrubbed. It returns those it
// scrubbed.
func signalLocal(ctx context.Context, pc *webrtc.PeerConnection, d webrtc.SessionDescription, out *json.Encoder) ([]string, error) {
	if err := localDescription(ctx, pc, d); err != nil {
		return nil, err
	}
	sdp, scrubbed := scrubRelatedAddresses(pc.LocalDescription().SDP)
	return scrubbed, out.Encode(signalMsg{Type: d.Type.String(), SDP: sdp})
}

// localDescription sets d and waits until ICE gathering is complete, so
// the SDP carries every candidate (no trickle).
func localDescription(ctx context.Context, pc *webrtc.PeerConnection, d webrtc.SessionDescription) error {
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(d); err != nil {
		return err
	}
	select {
	case <-gathered:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ICE gathering: %w", ctx.Err())
	}
}

// report collects what the peer learnt from getStats and its descriptions.
func report(pc *webrtc.PeerConnection, role string) peerReport {
	rep := peerReport{Role: role}
	if d := pc.RemoteDescription(); d != nil {
		rep.RemoteSDP = d.SDP
	}
	for _, s := range pc.GetStats() {
		c, ok := s.(webrtc.ICECandidateStats)
		if !ok {
			continue
		}
		info := candidateInfo{IP: c.IP, Port: c.Port, Type: c.CandidateType.String()}
		switch c.Type {
		case webrtc.StatsTypeRemoteCandidate:
			rep.RemoteCandidates = append(rep.RemoteCandidates, info)
		case webrtc.StatsTypeLocalCandidate:
			rep.LocalCandidates = append(rep.LocalCandidates, info)
		}
	}
	if sctp := pc.SCTP(); sctp != nil {
		if pair, err := sctp.Transport().ICETransport().GetSelectedCandidatePair(); err == nil && pair != nil && pair.Remote != nil {
			rep.SelectedRemote = fmt.Sprintf("%s:%d", pair.Remote.Address, pair.Remote.Port)
		}
	}
	return rep
}
