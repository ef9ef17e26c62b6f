package testenv

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestToken(t *testing.T) {
	s := Token(t, "secret-0123456789", "alice", time.Hour)
	var c jwt.RegisteredClaims
	if _, err := jwt.ParseWithClaims(s, &c, func(*jwt.Token) (any, error) { return []byte("secret-0123456789"), nil },
		jwt.WithValidMethods([]string{"HS256"})); err != nil {
		t.Fatal(err)
	}
	if c.Subject != "alice" || c.ExpiresAt == nil || time.Until(c.ExpiresAt.Time) < 59*time.Minute {
		t.Errorf("claims = %+v, want sub alice valid for an hour", c)
	}
}
