package pionclient_test

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/relaygate/relaygate/client/pionclient"
)

// A caller: a hardened peer connection on the gateway's relays, an offer
// gathered and checked before it is signalled.
func Example() {
	gw, err := pionclient.New("https://gw.example", pionclient.StaticToken("user JWT from your backend"), pionclient.Config{})
	if err != nil {
		log.Fatal(err)
	}
	if err := call(gw); err != nil {
		log.Fatal(err)
	}
}

func call(gw *pionclient.Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pc, err := gw.NewPeerConnection(ctx)
	var ge *pionclient.GatewayError
	if errors.As(err, &ge) && ge.Temporary() {
		log.Printf("gateway busy, ask again in %v", ge.RetryAfter)
		return err
	}
	if err != nil {
		return err
	}
	defer pc.Close()
	if _, err := pc.CreateDataChannel("chat", nil); err != nil {
		return err
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	offer, err = pionclient.LocalDescription(ctx, pc, offer)
	if err != nil {
		return err
	}
	send(offer) // to the callee, through your signalling
	return nil
}

// Trickle ICE: the app signals candidates as they come, through
// OnICECandidate, which passes only checked ones.
func ExampleOnICECandidate() {
	var pc *webrtc.PeerConnection // from Client.NewPeerConnection
	pionclient.OnICECandidate(pc, func(c *webrtc.ICECandidate) {
		if c == nil {
			return // gathering complete
		}
		sendCandidate(c.ToJSON())
	})
}

// A watched call: the measurement before it, and a Watcher that restarts
// ICE without a relay that dies, moves off one that drains and refreshes
// the credentials; the app still does the signalling.
func ExampleClient_Watch() {
	gw, err := pionclient.New("https://gw.example", pionclient.StaticToken("user JWT from your backend"), pionclient.Config{})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	ms, err := gw.Measure(ctx) // ≤ 300 ms; on an error the call goes ahead unmeasured
	if err != nil {
		log.Print(err)
	}
	creds, err := gw.CredentialsWith(ctx, ms)
	if err != nil {
		log.Fatal(err)
	}
	pc, err := gw.API().NewPeerConnection(pionclient.Configuration(creds))
	if err != nil {
		log.Fatal(err)
	}
	w, err := gw.Watch(pc, creds, pionclient.WatchConfig{
		Renegotiate: func(ctx context.Context, offer webrtc.SessionDescription) error {
			send(offer) // to the far end, through your signalling
			return pc.SetRemoteDescription(awaitAnswer(ctx))
		},
		OnEvent: func(e pionclient.Event) { log.Printf("%s %s %v", e.Kind, e.Relay, e.Gap) }, // ids, no addresses
	})
	if err != nil {
		log.Fatal(err)
	}
	hangUp() // ... the call, until it ends ...
	w.Stop()
	_ = pc.Close()
}

func hangUp() {}

func awaitAnswer(context.Context) webrtc.SessionDescription { return webrtc.SessionDescription{} }

func send(webrtc.SessionDescription)        {}
func sendCandidate(webrtc.ICECandidateInit) {}
