package turncred

import "errors"

// Errors returned by parsing and verification. Their messages never contain
// a secret, a username or a credential.
var (
	ErrMalformed  = errors.New("turncred: malformed username")
	ErrExpired    = errors.New("turncred: credential expired")
	ErrMismatch   = errors.New("turncred: credential does not match")
	ErrNoSecrets  = errors.New("turncred: no secrets configured")
	ErrBadSecrets = errors.New("turncred: bad secret list")
)
