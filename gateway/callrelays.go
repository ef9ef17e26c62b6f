package gateway

import "github.com/relaygate/relaygate/relay"

// RelayState is the state of relay id in the snapshot selection reads
// (relay.Relay.State): a client in a call asks it to learn that the relay
// carrying the call drains. false for a relay the snapshot does not hold.
// It does no I/O: an operator's drain mark made on this replica is in the
// snapshot at once (SetDrained syncs), one made elsewhere or a relay's
// own draining within one refresh interval.
func (g *Gateway) RelayState(id string) (relay.State, bool) {
	return g.snaps.Load().State(id)
}
