package selector

import (
	"net/netip"
	"time"
)

// Client is the party a selection is for.
type Client struct {
	Addr     netip.Addr // the client's address, as the trusted-proxy rules chose it
	Location Location   // where GeoIP puts it, valid only when Located
	Located  bool
}

// Measurement is one client-reported round trip to a relay.
type Measurement struct {
	RelayID string
	RTT     time.Duration
	Loss    float64 // fraction lost, [0, 1]
}

// Request asks for a primary and a backup relay for one client.
type Request struct {
	Client       Client
	Transports   []Transport   // each must be offered; empty means any one will do
	Measurements []Measurement // inline measurements from the client, if any
}

// Basis says where a choice's RTT estimate came from.
type Basis string

// The bases a Choice can rest on.
const (
	BasisMeasured Basis = "measured" // RTTs the client (or its prefix) measured
	BasisGeo      Basis = "geo"      // great-circle distance from the client's GeoIP location
	BasisFallback Basis = "fallback" // neither: the client could not be located (see Rank)
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
