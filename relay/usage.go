package relay

import "time"

// Usage is what relays carried for one user (a pseudonym) or on one relay:
// payload bytes each way and allocation time. It has no address and no
// name in it: a pseudonym is the gateway's keyed hash of a token subject.
type Usage struct {
	BytesToPeer    uint64        // payload bytes relayed from the client to its peers
	BytesFromPeer  uint64        // payload bytes peers sent to the client's relayed address
	AllocationTime time.Duration // allocations' lifetimes summed ("allocation-seconds")
}

// Add adds o to u.
func (u *Usage) Add(o Usage) {
	u.BytesToPeer += o.BytesToPeer
	u.BytesFromPeer += o.BytesFromPeer
	u.AllocationTime += o.AllocationTime
}

// IsZero reports whether u counts nothing.
func (u Usage) IsZero() bool { return u == Usage{} }

// ValidPseudonym reports whether p can be the user part of a TURN REST
// username (turncred.ParseUsername's rule): 1-256 printable ASCII
// characters other than ':'.
func ValidPseudonym(p string) bool {
	if p == "" || len(p) > 256 {
		return false
	}
	for _, c := range []byte(p) {
		if c <= ' ' || c > '~' || c == ':' {
			return false
		}
	}
	return true
}

// UsageEntry is one pseudonym's usage in a relay's report.
type UsageEntry struct {
	Pseudonym string // as in the TURN username the gateway minted (the user part for other usernames)
	Usage
}

// UsageReport is what one relay used since the previous report it had
// acknowledged, per pseudonym. Epoch and Seq make it idempotent: a report
// is counted once however often it is sent, and a relay sends the same
// report (same Seq, same entries) until the gateway acknowledges it.
type UsageReport struct {
	Epoch   string // the relay process's random name: a restarted relay counts Seq afresh
	Seq     uint64 // 1, 2, ... within Epoch
	Entries []UsageEntry
}

// UsagePeriod is usage in the hour that begins at Start.
type UsagePeriod struct {
	Start time.Time
	Usage
}

// UsageOnRelay is one relay's total usage over a period.
type UsageOnRelay struct {
	RelayID string
	Usage
}
