package devtoken

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestSign(t *testing.T) {
	s, err := Sign("secret-0123456789", "alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var c jwt.RegisteredClaims
	if _, err := jwt.ParseWithClaims(s, &c, func(*jwt.Token) (any, error) { return []byte("secret-0123456789"), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuedAt()); err != nil {
		t.Fatal(err)
	}
	if c.Subject != "alice" || c.IssuedAt == nil || c.ExpiresAt == nil || time.Until(c.ExpiresAt.Time) < 59*time.Minute {
		t.Errorf("claims = %+v, want sub alice, issued now, valid for an hour", c)
	}
	if _, err := jwt.Parse(s, func(*jwt.Token) (any, error) { return []byte("another-secret-0123"), nil }); err == nil {
		t.Error("the token verifies under another secret")
	}
}
