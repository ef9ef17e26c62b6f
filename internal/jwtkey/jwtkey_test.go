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

func TestAlgorithms(t *testing.T) {
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec := func(c elliptic.Curve) crypto.PublicKey {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k.Public()
	}
	rsaKey := func(bits int) crypto.PublicKey {
		k, err := rsa.GenerateKey(rand.Reader, bits) //nolint:gosec // G403: the short key is the refused case
		if err != nil {
			t.Fatal(err)
		}
		return k.Public()
	}
	tests := []struct {
		name  string
		pub   crypto.PublicKey
		first string // "": refused
	}{
		{"Ed25519", edPub, "EdDSA"},
		{"P-256", ec(elliptic.P256()), "ES256"},
		{"P-384", ec(elliptic.P384()), "ES384"},
		{"P-521", ec(elliptic.P521()), "ES512"},
		{"P-224", ec(elliptic.P224()), ""},
		{"RSA 2048", rsaKey(2048), "RS256"},
		{"RSA 1024", rsaKey(1024), ""},
		{"an HMAC secret", []byte("0123456789abcdef0123456789abcdef"), ""},
	}
	for _, tt := range tests {
		algs, err := Algorithms(tt.pub)
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
