package testenv

import (
	"testing"
	"time"

	"github.com/relaygate/relaygate/internal/devtoken"
)

// Token is devtoken.Sign (an HS256 JWT for sub with secret, valid for ttl
// from now) that fails t on an error.
func Token(t testing.TB, secret, sub string, ttl time.Duration) string {
	t.Helper()
	s, err := devtoken.Sign(secret, sub, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
