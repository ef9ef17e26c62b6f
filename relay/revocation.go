package relay

import "time"

// Revocation is an operator's revocation of a user-token subject: until
// Until the gateway mints it no credential and relays end its allocations.
// Pseudonym is the subject's pseudonym in TURN usernames (the gateway's
// keyed hash of it), the only part relays are told.
type Revocation struct {
	Subject   string    // the user token's sub; never logged, never in a metric
	Pseudonym string    // what relays know the subject by
	Until     time.Time // when it lapses by itself
	At        time.Time // when it was made (the store's clock)
}

// InForce reports whether the revocation still holds at now.
func (r Revocation) InForce(now time.Time) bool { return now.Before(r.Until) }
