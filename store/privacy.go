package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/netip"
)

// MinPrivacyKeyLen is the shortest RedisConfig.PrivacyKey accepted, in
// bytes: 128 bits, the strength of the hashes and the cipher it keys.
const MinPrivacyKeyLen = 16

// prefixTagBytes is how much of a prefix's HMAC names its keys: 96 bits
// keep a million prefixes clear of collisions by a wide margin, and 24 hex
// characters keep the keys short.
const prefixTagBytes = 12

// macPrefix starts the input of a prefix tag's HMAC, so that the key may
// one day serve other hashes without their colliding.
const macPrefix = 1

// keyring keeps client prefixes out of what the Redis store writes: a
// prefix is named by a keyed hash (its tag) and carried sealed, so that the
// store can give it back. Without the key, what Redis holds tells which
// relays some network measured and how they fared, not which network. It is
// safe for concurrent use.
type keyring struct {
	mac  []byte      // HMAC-SHA256 key of prefix tags
	aead cipher.AEAD // AES-256-GCM, seals prefixes
}

// newKeyring derives the keyring's two keys from key, which must be at
// least MinPrivacyKeyLen bytes.
func newKeyring(key []byte) (*keyring, error) {
	if len(key) < MinPrivacyKeyLen { // RedisConfig.validate says so first
		return nil, fmt.Errorf("privacy key too short: %w", ErrConfig)
	}
	derive := func(label string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(label))
		return h.Sum(nil)
	}
	block, err := aes.NewCipher(derive("relaygate store seal v1"))
	if err != nil {
		return nil, fmt.Errorf("privacy key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("privacy key: %w", err)
	}
	return &keyring{mac: derive("relaygate store mac v1"), aead: aead}, nil
}

// prefixTag names p in keys and in the measurements index: the hex of its
// HMAC, cut to prefixTagBytes.
func (k *keyring) prefixTag(p netip.Prefix) string {
	b, _ := p.MarshalBinary() // never fails
	h := hmac.New(sha256.New, k.mac)
	h.Write([]byte{macPrefix})
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)[:prefixTagBytes])
}

// seal encrypts p, bound to its tag, for storage.
func (k *keyring) seal(p netip.Prefix, tag string) string {
	b, _ := p.MarshalBinary() // never fails
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(b)+k.aead.Overhead())
	_, _ = rand.Read(nonce) // never fails
	return base64.StdEncoding.EncodeToString(k.aead.Seal(nonce, nonce, b, []byte(tag)))
}

// open decrypts what seal stored under tag. It fails when sealed was made
// under another key or another tag, and never says more: sealed is a
// client's prefix.
func (k *keyring) open(tag, sealed string) (netip.Prefix, error) {
	b, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(b) < k.aead.NonceSize() {
		return netip.Prefix{}, errSealed
	}
	n := k.aead.NonceSize()
	plain, err := k.aead.Open(nil, b[:n], b[n:], []byte(tag))
	if err != nil {
		return netip.Prefix{}, errSealed
	}
	var p netip.Prefix
	if err := p.UnmarshalBinary(plain); err != nil {
		return netip.Prefix{}, errSealed
	}
	return p, nil
}
