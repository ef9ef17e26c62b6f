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
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/relaygate/relaygate/client/pionclient"
	"github.com/relaygate/relaygate/wire"
)

// helperEnv selects a helper mode when the test binary is re-executed
// inside a network namespace (see TestMain and startPeer).
const helperEnv = "RELAYGATE_E2E_HELPER"

// Modes of a peer helper (RELAYGATE_E2E_MODE): the stack that makes and
// signals its peer connection.
const (
	modePionclient = "pionclient"  // pionclient: hardened, relay-only
	modePlainRelay = "plain-relay" // plain pion, the gateway's answer as-is
	modePlainAll   = "plain-all"   // plain pion, policy "all"
)

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

// getCredentials asks the gateway through pionclient until it names a
// relay (the relay's first heartbeat may still be on its way: 503
// no-relay-available), bounded by ctx.
func getCredentials(ctx context.Context, gateway, userToken string) (wire.Credentials, error) {
	c, err := gatewayClient(gateway, userToken)
	if err != nil {
		return wire.Credentials{}, err
	}
	var creds wire.Credentials
	err = untilAnswered(ctx, func() (err error) {
		creds, err = c.Credentials(ctx)
		return err
	})
	return creds, err
}

// gatewayClient is a pionclient.Client for gateway, asking for 10-minute
// credentials.
func gatewayClient(gateway, userToken string) (*pionclient.Client, error) {
	ttl := int64(600)
	return pionclient.New(gateway, pionclient.StaticToken(userToken), pionclient.Config{
		HTTPClient: &http.Client{Timeout: 5 * time.Second},
		Request:    wire.CredentialsRequest{TTLSeconds: &ttl},
	})
}

// untilAnswered calls ask every 200ms until it succeeds, bounded by ctx.
func untilAnswered(ctx context.Context, ask func() error) error {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		err := ask()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("credentials: %w (last: %w)", ctx.Err(), err)
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

	// The stack under test: pionclient as a Go app should use it, or plain
	// pion with the gateway's answer as-is (relay policy, the leak
	// control), or plain pion with policy "all" (an app that ignores the
	// gateway).
	mode := os.Getenv("RELAYGATE_E2E_MODE")
	gwc, err := gatewayClient(os.Getenv("RELAYGATE_E2E_GATEWAY"), os.Getenv("RELAYGATE_E2E_TOKEN"))
	if err != nil {
		return err
	}
	var pc *webrtc.PeerConnection
	switch mode {
	case modePionclient:
		err = untilAnswered(ctx, func() (err error) {
			pc, err = gwc.NewPeerConnection(ctx)
			return err
		})
	case modePlainRelay, modePlainAll:
		var creds wire.Credentials
		if err := untilAnswered(ctx, func() (err error) {
			creds, err = gwc.Credentials(ctx)
			return err
		}); err != nil {
			return err
		}
		cfg := pionclient.Configuration(creds)
		if mode == modePlainAll {
			cfg.ICETransportPolicy = webrtc.ICETransportPolicyAll
		}
		var se webrtc.SettingEngine
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled) // no .local names, no multicast
		pc, err = webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(cfg)
	default:
		return fmt.Errorf("RELAYGATE_E2E_MODE %q: want %s, %s or %s", mode, modePionclient, modePlainRelay, modePlainAll)
	}
	if err != nil {
		return err
	}
	defer pc.Close()
	signal := func(d webrtc.SessionDescription) error {
		var sdp string
		if mode == modePionclient {
			ld, err := pionclient.LocalDescription(ctx, pc, d)
			if err != nil {
				return err
			}
			sdp = ld.SDP
		} else {
			if err := localDescription(ctx, pc, d); err != nil {
				return err
			}
			sdp = pc.LocalDescription().SDP
		}
		return out.Encode(signalMsg{Type: d.Type.String(), SDP: sdp})
	}

	cnt := &dcCounter{all: make(chan struct{}), want: messages}
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
		if err := signal(offer); err != nil {
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
		if err := signal(answer); err != nil {
			return err
		}
	}

	if _, err := expect(ctx, in, "finish"); err != nil {
		return err
	}
	// Report with the call still up: the other side reports after us and
	// its getStats must still see the call.
	rep := report(pc, role)
	rep.Mode = mode
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
