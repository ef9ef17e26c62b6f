package pionclient_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/relaygate/relaygate/client/pionclient"
	"github.com/relaygate/relaygate/relay"
)

// TestHardenedCallOverRelay: two pionclient peers call each other over the
// relay with the SDP LocalDescription returns, trickled candidates
// checked too, and exchange data-channel messages both ways; the pair
// they use is relay to relay.
func TestHardenedCallOverRelay(t *testing.T) {
	r := startRelay(t)
	for _, tr := range []relay.Transport{relay.UDP, relay.TCP} {
		t.Run("turn over "+tr.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			gateway := startGateway(t, r, tr)
			callerNet, calleeNet := newRecordingNet(t), newRecordingNet(t)
			caller, callee := hardenedPC(t, gateway, callerNet), hardenedPC(t, gateway, calleeNet)
			callerTrickle, calleeTrickle := collect(caller), collect(callee)

			const messages = 10
			got := make(chan string, 2*messages)
			callee.OnDataChannel(func(dc *webrtc.DataChannel) {
				dc.OnMessage(func(m webrtc.DataChannelMessage) {
					got <- "callee got " + string(m.Data)
					_ = dc.SendText("pong " + strings.TrimPrefix(string(m.Data), "ping "))
				})
			})
			dc, err := caller.CreateDataChannel("chat", nil)
			if err != nil {
				t.Fatal(err)
			}
			dc.OnOpen(func() {
				for i := range messages {
					_ = dc.SendText(fmt.Sprintf("ping %d", i))
				}
			})
			dc.OnMessage(func(m webrtc.DataChannelMessage) { got <- "caller got " + string(m.Data) })

			offer := signal(ctx, t, "caller", caller, callee, func() (webrtc.SessionDescription, error) { return caller.CreateOffer(nil) })
			answer := signal(ctx, t, "callee", callee, caller, func() (webrtc.SessionDescription, error) { return callee.CreateAnswer(nil) })

			var seen []string
			for len(seen) < 2*messages {
				select {
				case m := <-got:
					seen = append(seen, m)
				case <-ctx.Done():
					t.Fatalf("after %d of %d messages: %v (seen %q)", len(seen), 2*messages, ctx.Err(), seen)
				}
			}
			for i := range messages {
				for _, want := range []string{fmt.Sprintf("callee got ping %d", i), fmt.Sprintf("caller got pong %d", i)} {
					if !slices.Contains(seen, want) {
						t.Errorf("message %q never arrived; seen %q", want, seen)
					}
				}
			}
			checkClean(t, offer.SDP, callerTrickle(), callerNet.locals(), 1)
			checkClean(t, answer.SDP, calleeTrickle(), calleeNet.locals(), 1)
			for _, pc := range []*webrtc.PeerConnection{caller, callee} {
				pair, err := pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
				if err != nil || pair == nil {
					t.Fatalf("selected pair: %v, %v", pair, err)
				}
				if pair.Local.Typ != webrtc.ICECandidateTypeRelay || pair.Remote.Typ != webrtc.ICECandidateTypeRelay ||
					pair.Remote.Address != relayIP.String() {
					t.Errorf("selected pair %v; want relay to relay at %v", pair, relayIP)
				}
			}
		})
	}
}

// collect gathers pc's trickled candidates through pionclient's handler;
// the func it returns lists them once gathering is complete.
func collect(pc *webrtc.PeerConnection) func() []string {
	var mu sync.Mutex
	var out []string
	done := make(chan struct{})
	pionclient.OnICECandidate(pc, func(c *webrtc.ICECandidate) {
		if c == nil {
			close(done)
			return
		}
		mu.Lock()
		out = append(out, c.ToJSON().Candidate)
		mu.Unlock()
	})
	return func() []string {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(out)
	}
}

// TestChecksRefusePlainPion: the checks are a second line: what plain pion
// gathers over TURN/TCP never reaches the app through LocalDescription or
// OnICECandidate.
func TestChecksRefusePlainPion(t *testing.T) {
	r := startRelay(t)
	pc := plainPC(t, startGateway(t, r, relay.TCP), newRecordingNet(t))
	trickled := collect(pc)
	if _, err := pc.CreateDataChannel("probe", nil); err != nil {
		t.Fatal(err)
	}
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	d, err := pionclient.LocalDescription(ctx, pc, o)
	if !errors.Is(err, pionclient.ErrUnsafeCandidate) {
		t.Errorf("LocalDescription(plain pion) = %q, %v; want ErrUnsafeCandidate", d.SDP, err)
	}
	if err != nil && strings.Contains(err.Error(), callerIP.String()) {
		t.Errorf("the error names the address: %v", err)
	}
	if got := trickled(); len(got) != 0 {
		t.Errorf("OnICECandidate passed %q from plain pion", got)
	}
	// The control: pion did gather the leaking candidate.
	if ld := pc.LocalDescription(); ld == nil || !strings.Contains(ld.SDP, "raddr "+callerIP.String()) {
		t.Errorf("plain pion's local description has no raddr %v; this test proves nothing", callerIP)
	}
}

// signal is one leg of the exchange: from creates its description (offer or
// answer), pionclient.LocalDescription completes and checks it, and to sets
// it as its remote description. It returns the description signalled.
func signal(ctx context.Context, t *testing.T, name string, from, to *webrtc.PeerConnection, create func() (webrtc.SessionDescription, error)) webrtc.SessionDescription {
	t.Helper()
	d, err := create()
	if err != nil {
		t.Fatal(err)
	}
	d, err = pionclient.LocalDescription(ctx, from, d)
	if err != nil {
		t.Fatalf("%s LocalDescription: %v", name, err)
	}
	if err := to.SetRemoteDescription(d); err != nil {
		t.Fatal(err)
	}
	return d
}
