package relay

import "time"

// Basis says where a choice's RTT estimate came from.
type Basis string

// The bases a Choice can rest on.
const (
	BasisMeasured Basis = "measured" // RTTs the client (or its prefix) measured
	BasisGeo      Basis = "geo"      // great-circle distance from the client's GeoIP location
	BasisFallback Basis = "fallback" // neither: the client could not be located
)

// Choice is one selected relay and why.
type Choice struct {
	Relay        Relay // a copy; safe to keep
	EstimatedRTT time.Duration
	HasEstimate  bool // false when there is nothing to estimate from (BasisFallback)
	Basis        Basis
}

// Pair is the answer for one client. Backup is nil when no second relay is
// eligible.
type Pair struct {
	Primary Choice
	Backup  *Choice
}

// Credential is a minted TURN REST credential. It renders redacted: the
// username carries a pseudonym and the password opens the relays.
type Credential struct {
	Username string
	Password string
	Expires  time.Time
}

// String hides the credential.
func (Credential) String() string { return "[credential]" }
