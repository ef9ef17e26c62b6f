package gateway

import (
	"time"

	"github.com/relaygate/relaygate/relay"
)

// Mint mints a TURN REST credential for a user-token subject, valid for ttl
// from now; the username carries a pseudonym of the subject, never the
// subject itself.
func (g *Gateway) Mint(subject string, ttl time.Duration, now time.Time) relay.Credential {
	c := g.minter.Mint(subject, ttl, now)
	return relay.Credential{Username: c.Username, Password: c.Password, Expires: c.Expires}
}
