package api

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/relaygate/relaygate/wire"
)

// Limits on what a client may ask for.
const (
	// MinCredentialTTL is the shortest credential lifetime, the contract's
	// (wire.MinCredentialTTL).
	MinCredentialTTL = wire.MinCredentialTTL
	// MaxCredentialTTL is the longest credential lifetime, the contract's
	// (wire.MaxCredentialTTL).
	MaxCredentialTTL = wire.MaxCredentialTTL
	// MaxBodyBytes caps request bodies: the largest legitimate one (a heartbeat
	// with 16 addresses, or 64 measurements) is a few KiB.
	MaxBodyBytes = 64 << 10
)

// Config configures the API. The zero value works: every role is then
// closed (no key) and the defaults below apply.
type Config struct {
	HeartbeatTTL   time.Duration  // a relay not heard from for this long is gone; default 15s, 3s..10m
	CredentialTTL  time.Duration  // default credential lifetime; default 24h, 60s..48h
	TrustedProxies []netip.Prefix // peers whose X-Forwarded-For is believed; default none
	CORSOrigins    []string       // origins that may call the user endpoints from a browser ("*" for any); default none
	User           KeyConfig      // verifies client apps' user tokens (POST /v1/credentials, GET /v1/turn)
	Node           KeyConfig      // verifies relay nodes' tokens (PUT /v1/relays/{id})
	Admin          KeyConfig      // verifies operators' tokens (/v1/relays reads, drain)
	// Demo adds GET /demo/token, which mints a short-lived user token for
	// anyone who asks (the demo page's caller), signed with User.Secret,
	// which it requires. For a developer's own machine only: cmd/relaygate
	// allows it only on a loopback listener. Default off; GET /demo, where
	// a developer pastes a token, is served either way.
	Demo bool
}

// KeyConfig is how one role's JWTs are verified: an HS256 Secret, or a PEM
// public key (Ed25519, ECDSA P-256/384/521 or RSA) whose kind pins the
// algorithm. Neither set: the role's endpoints answer 401.
type KeyConfig struct {
	Secret       []byte // HS256 shared secret, at least 32 bytes
	PublicKeyPEM []byte // "PUBLIC KEY" (PKIX) PEM block
	Issuer       string // required "iss" when set
	Audience     string // required in "aud" when set
	// MaxAge refuses tokens issued (iat) longer ago than this, and tokens
	// without iat; 0 (the default) accepts tokens of any age until exp.
	MaxAge time.Duration
}

func (c Config) withDefaults() Config {
	c.HeartbeatTTL = cmp.Or(c.HeartbeatTTL, 15*time.Second)
	c.CredentialTTL = cmp.Or(c.CredentialTTL, 24*time.Hour)
	return c
}

func (c Config) validate() error {
	var errs []error
	if c.HeartbeatTTL < 3*time.Second || c.HeartbeatTTL > 10*time.Minute {
		errs = append(errs, fmt.Errorf("heartbeat TTL %v out of range 3s..10m", c.HeartbeatTTL))
	}
	if c.CredentialTTL < MinCredentialTTL || c.CredentialTTL > MaxCredentialTTL {
		errs = append(errs, fmt.Errorf("credential TTL %v out of range %v..%v", c.CredentialTTL, MinCredentialTTL, MaxCredentialTTL))
	}
	if err := validOrigins(c.CORSOrigins); err != nil {
		errs = append(errs, err)
	}
	if c.Demo && len(c.User.Secret) == 0 {
		errs = append(errs, errors.New("demo mode mints user tokens, so it needs an HS256 user secret"))
	}
	for _, p := range c.TrustedProxies {
		if !p.IsValid() {
			errs = append(errs, errors.New("trusted proxies: invalid prefix"))
		}
	}
	return errors.Join(errs...)
}
