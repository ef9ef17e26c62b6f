package jwtkey

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"slices"
	"testing"
)

// ecdsaKey and rsaKey make the public half of a fresh key.
func ecdsaKey(c elliptic.Curve) func() (crypto.PublicKey, error) {
	return func() (crypto.PublicKey, error) {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			return nil, err
		}
		return k.Public(), nil
	}
}

func rsaKey(bits int) func() (crypto.PublicKey, error) {
	return func() (crypto.PublicKey, error) {
		k, err := rsa.GenerateKey(rand.Reader, bits) //nolint:gosec // G403: the short key is the refused case
		if err != nil {
			return nil, err
		}
		return k.Public(), nil
	}
}

func TestAlgorithms(t *testing.T) {
	tests := []struct {
		name  string
		key   func() (crypto.PublicKey, error)
		first string // "": refused
	}{
		{"Ed25519", func() (crypto.PublicKey, error) { pub, _, err := ed25519.GenerateKey(rand.Reader); return pub, err }, "EdDSA"},
		{"P-256", ecdsaKey(elliptic.P256()), "ES256"},
		{"P-384", ecdsaKey(elliptic.P384()), "ES384"},
		{"P-521", ecdsaKey(elliptic.P521()), "ES512"},
		{"P-224", ecdsaKey(elliptic.P224()), ""},
		{"RSA 2048", rsaKey(2048), "RS256"},
		{"RSA 1024", rsaKey(1024), ""},
		{"an HMAC secret", func() (crypto.PublicKey, error) { return []byte("0123456789abcdef0123456789abcdef"), nil }, ""},
	}
	for _, tt := range tests {
		pub, err := tt.key()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		algs, err := Algorithms(pub)
		switch {
		case tt.first == "" && err == nil:
			t.Errorf("%s: Algorithms() = %v, want an error", tt.name, algs)
		case tt.first != "" && (err != nil || algs[0] != tt.first):
			t.Errorf("%s: Algorithms() = %v, %v; want %s first", tt.name, algs, err, tt.first)
		case slices.Contains(algs, "HS256") || slices.Contains(algs, "none"):
			t.Errorf("%s: Algorithms() = %v, lets a public key verify HS256 or none", tt.name, algs)
		}
	}
}
