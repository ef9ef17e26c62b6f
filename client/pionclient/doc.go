// Package pionclient is relaygate's client for Go apps built on
// pion/webrtc v4: it fetches credentials and relays from the gateway
// (POST /v1/credentials), builds the relay-only webrtc.Configuration from
// them, and gives the app a hardened *webrtc.API whose peer connections
// signal no address of the machine they run on.
//
// # The leak it closes
//
// The gateway's answer says ice_transport_policy "relay", and with it pion
// gathers relay candidates only. But pion fills a relay candidate's related
// address (raddr/rport) with the local end of the socket it used to reach
// the TURN server: for TURN over TCP or TLS that is the caller's own IP
// address and port, for TURN over UDP the wildcard and the local port. So
// a plain pion app that follows the gateway's answer to the letter still
// signals
//
//	a=candidate:… udp … 203.0.113.5 40123 typ relay raddr 192.168.1.20 rport 53211
//
// and the other party learns the caller's address from the SDP. Browsers
// blank the related address under the relay policy (raddr 0.0.0.0 rport 0);
// pion does not.
//
// # The guarantee
//
// A peer connection made by Client.NewPeerConnection, or by an API from
// Harden, gathers relay candidates only and signals none that carries a
// local address:
//
//   - Harden gives pion's ICE agent a network that lists no interfaces, so
//     no host or server-reflexive candidate has an address to be made of
//     (even if the app later sets the policy to "all"), and refuses to
//     listen on any socket but the wildcard one a TURN/UDP client uses;
//   - every socket that network opens reports the unspecified address of
//     its family and port BlankRelatedPort (9, the discard port) as its
//     local address, which is what pion copies into a relay candidate's
//     related address: the candidate says "raddr 0.0.0.0 rport 9", the same
//     on every client (not rport 0, which would make pion drop raddr and
//     rport, and Firefox refuse the candidate);
//   - multicast DNS, address rewrite rules and ICE lite are turned off;
//   - LocalDescription and OnICECandidate check what is about to be
//     signalled (CheckSDP, CheckCandidate) and refuse or withhold anything
//     that is not a relay candidate with a blank related address, so a
//     setting the app made around Harden cannot leak silently.
//
// The relayed address in a relay candidate is the relay's, never the
// client's; that is what the other party connects to.
//
// # Before the first call
//
// Client.Measure asks the gateway which relays to measure (GET
// /v1/candidates), sends each a STUN Binding request, all at once, and
// returns the round-trip times of those that answered within the
// gateway's budget (300 ms); Client.CredentialsWith reports them inline
// in POST /v1/credentials, as relaygate.js reports what it measured, so
// that even the first call is placed on measurements. Only relay ids and
// RTTs go to the gateway: the address a relay's answer reflects is never
// read, and the bindings leave from the hardened network's wildcard
// sockets.
//
// # Keeping a call alive
//
// Client.Watch watches a call the app made with a Client's credentials,
// as relaygate.js's watch does. The app keeps its signalling: when the
// Watcher restarts ICE, it hands the app the new offer (WatchConfig.
// Renegotiate) and the app delivers it and sets the answer.
//
//   - Stall: the call received no bytes for 300 ms (or ICE was
//     disconnected or failed that long), read every 150 ms.
//   - Restart without the dead relay: it leaves out, for two minutes, the
//     relay the call's own candidate was on, or, when the far end's sat on
//     our other relay (either may have died), those of the call's relays
//     that answer no STUN binding within 500 ms; then SetConfiguration
//     without them and an offer with ICERestart. It never leaves a call
//     without a relay.
//   - Drain: every 5 s it asks the gateway (GET /v1/call-relays) whether
//     the relay carrying the call drains (maintenance, shutdown); if so it
//     restarts ICE without it while it still carries the media.
//   - Refresh: at 80 % of the credentials' lifetime it asks the gateway
//     for fresh ones and sets them, so a restart late in a long call never
//     presents an expired credential.
//
// It reports Events (stalled, restarting, recovered with the gap,
// draining, moved, refreshed, error) naming relays by id, never by
// address.
//
// # What it refuses
//
// It never logs, and its errors never contain, a token, a credential, a
// TURN username or an address. It does not retry: a 429 or 503 answer is a
// *GatewayError carrying the Retry-After the gateway sent, and the app
// decides when to ask again. It does not rewrite SDP: the mechanism above
// makes the SDP clean, and the checks only verify it.
package pionclient
