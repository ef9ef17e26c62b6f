package selector

import (
	"slices"
	"strings"
)

// Snapshot is an immutable view of the registry at one moment. Build it once
// (NewSnapshot) and share it read-only among all requests.
type Snapshot struct {
	relays []Relay // sorted by ID; never modified after NewSnapshot
}

// NewSnapshot copies relays into a new snapshot sorted by ID.
func NewSnapshot(relays []Relay) *Snapshot {
	rs := make([]Relay, len(relays))
	for i := range relays {
		rs[i] = relays[i].Clone()
	}
	slices.SortFunc(rs, func(a, b Relay) int { return strings.Compare(a.ID, b.ID) })
	return &Snapshot{relays: rs}
}

// Len is the number of relays in the snapshot.
func (s *Snapshot) Len() int { return len(s.relays) }

// Relays returns a copy of the snapshot's relays, sorted by ID.
func (s *Snapshot) Relays() []Relay {
	out := make([]Relay, len(s.relays))
	for i := range s.relays {
		out[i] = s.relays[i].Clone()
	}
	return out
}
