package wire

import (
	"fmt"
	"net/url"

	"github.com/relaygate/relaygate/relay"
)

// MaxCallRelays bounds the relays one GET /v1/call-relays asks about: a
// call's primary and backup, and the far end's, with room to spare.
const MaxCallRelays = 8

// CallRelays is openapi.yaml's CallRelays, GET /v1/call-relays' answer:
// the state of each relay a client asked about, in the order asked, so a
// client in a call learns that the relay carrying it drains and moves
// before the relay goes.
type CallRelays struct {
	Relays []CallRelay `json:"relays"`
}

// CallRelay is openapi.yaml's CallRelay: one relay's state as the
// gateway's snapshot has it. State is empty (left out) for a relay the
// gateway does not know; Leave says the client should move its calls off
// the relay now, while it still carries them: it drains (the operator's
// mark or its own shutdown).
type CallRelay struct {
	RelayID string     `json:"relay_id"`
	State   RelayState `json:"state,omitempty"`
	Leave   bool       `json:"leave"`
}

// NewCallRelay is the answer for the relay id, whose state the gateway
// knows when known.
func NewCallRelay(id string, state relay.State, known bool) CallRelay {
	if !known {
		return CallRelay{RelayID: id}
	}
	return CallRelay{RelayID: id, State: state, Leave: state == relay.StateDraining || state == relay.StateDrained}
}

// ParseCallRelaysQuery reads GET /v1/call-relays' query: one to
// MaxCallRelays relay ids, each as a relay= parameter; repeats are asked
// once. It names the offending parameter on error.
func ParseCallRelaysQuery(q url.Values) ([]string, []FieldError) {
	ids := q["relay"]
	if len(ids) == 0 || len(ids) > MaxCallRelays {
		return nil, []FieldError{{Field: "relay", Message: fmt.Sprintf("want 1 to %d relay ids", MaxCallRelays)}}
	}
	out := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for i, id := range ids {
		if !ValidSlug(id) {
			return nil, []FieldError{{Field: fmt.Sprintf("relay[%d]", i), Message: "not a relay id"}}
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}
