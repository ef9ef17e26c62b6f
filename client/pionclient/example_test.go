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

func send(webrtc.SessionDescription)        {}
func sendCandidate(webrtc.ICECandidateInit) {}
