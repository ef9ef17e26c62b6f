package api

import (
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/relaygate/relaygate/relay"
)

// A client presents the same token many times while it holds it:
// relaygate.js asks for credentials, refreshes them at 80 % of their
// lifetime and reports measurements every 30 s, all with the token its app
// gave it. Parsing a JWT (two JSON documents and a signature) is the largest
// single cost of a credentials request, so each role remembers the tokens
// it has accepted, as Envoy's jwt_authn does.
//
// An entry is keyed by the whole token text, signature included, so a hit
// stands for a token that verified byte for byte under this process's
// keys and rules, which never change while it runs. What can change is
// time: the token's dates (exp, nbf, iat, and its age where a maximum is
// set) are checked again on every hit by the same rules as the first time
// (tokenTimes.check), and an entry that fails them is dropped so the full
// check gives the exact refusal.
// Only accepted tokens are remembered, so refused ones cannot fill it.
const (
	// tokenCacheSize bounds the remembered tokens per role: an active
	// gateway sees roughly one live token per client in a call; beyond this
	// the least recently used is forgotten and simply verified again.
	tokenCacheSize = 16384
	// maxCachedTokenLen keeps the cache's memory bounded (16384 x 2 KiB =
	// 32 MiB at worst): HS256, ES256 and EdDSA tokens are a few hundred
	// bytes, RS256 with a 2048-bit key under 1 KiB; longer ones are verified
	// every time.
	maxCachedTokenLen = 2 << 10
)

// cachedToken is what a verified token told us.
type cachedToken struct {
	subject string
	times   tokenTimes          // every token we accept has an exp
	within  *relay.Jurisdiction // its country claims; nil without
}

// tokenCache remembers verified tokens of one role. Safe for concurrent use.
type tokenCache struct {
	lru *lru.Cache[string, cachedToken]
	now func() time.Time
}

func newTokenCache(size int, now func() time.Time) *tokenCache {
	c, err := lru.New[string, cachedToken](size)
	if err != nil { // only for size <= 0, which no caller passes
		panic(err)
	}
	return &tokenCache{lru: c, now: now}
}

// get returns what a remembered token whose dates still pass the rules,
// maxAge included, told.
func (c *tokenCache) get(token string, maxAge time.Duration) (cachedToken, bool) {
	e, ok := c.lru.Get(token)
	if !ok {
		return cachedToken{}, false
	}
	if e.times.check(c.now(), maxAge) != nil {
		c.lru.Remove(token)
		return cachedToken{}, false
	}
	return e, true
}

// add remembers a token that verified.
func (c *tokenCache) add(token string, t cachedToken) {
	if len(token) > maxCachedTokenLen {
		return
	}
	c.lru.Add(token, t)
}
