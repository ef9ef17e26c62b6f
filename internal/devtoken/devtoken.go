// Package devtoken signs the HS256 tokens that tests and benches present to
// a gateway they started with a shared secret: a subject, issued now,
// expiring after a lifetime, nothing more. Operators mint real tokens with
// relayctl token (issuer, audience, public-key algorithms); this package is
// for the test and bench harnesses only.
package devtoken

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Sign signs an HS256 JWT for sub with secret, valid for ttl from now.
func Sign(secret, sub string, ttl time.Duration) (string, error) {
	now := time.Now()
	return jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": sub, "iat": now.Unix(), "exp": now.Add(ttl).Unix(),
	}).SignedString([]byte(secret))
}
