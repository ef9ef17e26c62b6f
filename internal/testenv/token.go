package testenv

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// SignToken signs an HS256 JWT for sub with secret, valid for ttl from now.
func SignToken(secret, sub string, ttl time.Duration) (string, error) {
	now := time.Now()
	return jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": sub, "iat": now.Unix(), "exp": now.Add(ttl).Unix(),
	}).SignedString([]byte(secret))
}

// Token is SignToken that fails t on an error.
func Token(t testing.TB, secret, sub string, ttl time.Duration) string {
	t.Helper()
	s, err := SignToken(secret, sub, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
