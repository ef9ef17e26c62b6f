// Package jwtkey holds the gateway's rules for JWT keys, for the two sides
// that must agree on them: api, which verifies tokens, and relayctl, which
// mints tokens the gateway accepts. It says which keys are strong enough and
// which algorithms each kind of key pins; it signs and verifies nothing.
package jwtkey

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
)

// MinHS256Secret is the shortest HS256 secret accepted: RFC 7518 §3.2 asks for an HS256 key at least as long as
// the hash (32 bytes).
const MinHS256Secret = 32

// minRSABits: RSA keys under 2048 bits are within reach of factoring.
const minRSABits = 2048

// Algorithms returns the JWT algorithms ("alg") a public key of this kind
// may verify, the one a signer with its private half uses first: Ed25519
// EdDSA; ECDSA ES256, ES384 or ES512 by its curve; RSA (2048 bits or more)
// RS256 and the other RSA algorithms. Pinning them by key is what keeps an
// RSA key from verifying an HS256 token made with the key's bytes as the
// secret; "none" is never among them.
func Algorithms(pub crypto.PublicKey) ([]string, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return []string{"EdDSA"}, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return []string{"ES256"}, nil
		case elliptic.P384():
			return []string{"ES384"}, nil
		case elliptic.P521():
			return []string{"ES512"}, nil
		}
		return nil, errors.New("unsupported ECDSA curve (want P-256, P-384 or P-521)")
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("RSA key shorter than %d bits", minRSABits)
		}
		return []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}, nil
	}
	return nil, fmt.Errorf("unsupported key type %T", pub)
}
