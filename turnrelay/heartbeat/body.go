package heartbeat

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/wire"
)

// body is the part of every heartbeat that does not change, in the shape
// of the contract's Heartbeat (package wire).
type body struct{ h wire.Heartbeat }

// newBody builds the heartbeat of the relay c and n describe.
func newBody(c Config, n Node) body {
	return body{h: wire.NewHeartbeat(relay.Relay{
		Region: c.Region, Site: c.Site,
		Location:  relay.Location{Latitude: c.Latitude, Longitude: c.Longitude},
		Country:   c.Country,
		Addresses: n.Addresses, Hostname: c.Hostname, Ports: n.Ports, Version: c.Version,
		Capacity: relay.Capacity{Allocations: n.MaxAllocations, BandwidthBPS: n.MaxBPS},
	})}
}

// encode is b with st's live fields, the drain mark the relay reasserts
// and its usage report (nil: none), as JSON.
func (b body) encode(st Status, drained bool, usage *relay.UsageReport) ([]byte, error) {
	h := b.h
	h.Load = &wire.Resources{Allocations: st.Allocations, BandwidthBPS: st.BandwidthBPS}
	h.Draining = st.Draining
	h.Drained = drained
	if usage != nil {
		u := wire.NewUsageReport(*usage)
		h.Usage = &u
	}
	return json.Marshal(h)
}

// ack is what the gateway's answer to a heartbeat says.
type ack struct {
	interval time.Duration // the heartbeat interval it asks for; 0 when it names none
	drained  bool          // the operator's drain mark on this relay
	revoked  Revocations   // the users revoked now
	usageAck uint64        // the seq of the usage report the gateway counted; 0: none
}

// Revocations are the users a gateway's answer says are revoked, by the
// pseudonym their usernames carry (turncred.Username.Pseudonym), each with
// the time its revocation lapses. Each answer's list replaces the last.
type Revocations struct {
	Until     map[string]time.Time // by pseudonym; nil: none
	Truncated bool                 // the gateway left older revocations out
}

// Bounds on an answer's revocations: the gateway sends at most 512
// (gateway.MaxRelayRevocations); more are left out, and the list counts
// as truncated. A pseudonym is what a username's user part may be.
const (
	maxRevocations  = 512
	maxPseudonymLen = 256
)

// newRevocations reads an answer's list: entries with an empty, overlong or
// unprintable pseudonym, or no time, are dropped; past maxRevocations the
// rest are.
func newRevocations(list []wire.RelayRevocation, truncated bool) Revocations {
	r := Revocations{Truncated: truncated || len(list) > maxRevocations}
	for _, e := range list[:min(len(list), maxRevocations)] {
		if e.Pseudonym == "" || len(e.Pseudonym) > maxPseudonymLen || e.Until.IsZero() ||
			strings.ContainsFunc(e.Pseudonym, func(c rune) bool { return c <= ' ' || c > '~' || c == ':' }) {
			continue
		}
		if r.Until == nil {
			r.Until = make(map[string]time.Time, len(list))
		}
		if old, ok := r.Until[e.Pseudonym]; !ok || e.Until.After(old) {
			r.Until[e.Pseudonym] = e.Until
		}
	}
	return r
}

// decodeAck reads the gateway's answer to a heartbeat.
func decodeAck(data []byte) (ack, error) {
	var a wire.HeartbeatAck
	if err := json.Unmarshal(data, &a); err != nil {
		return ack{}, err
	}
	return ack{interval: time.Duration(a.HeartbeatIntervalSeconds) * time.Second, drained: a.Drained,
		revoked: newRevocations(a.Revocations, a.RevocationsTruncated), usageAck: a.UsageAck}, nil
}

// decodeProblem is a problem+json body; zero when it is not one.
func decodeProblem(data []byte) wire.Problem {
	var p wire.Problem
	if json.Unmarshal(data, &p) != nil {
		return wire.Problem{}
	}
	return p
}
