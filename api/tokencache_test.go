package api

import (
	"strings"
	"testing"
	"time"
)

func TestTokenCacheBounds(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	c := newTokenCache(2, func() time.Time { return t0 })
	for _, tok := range []string{"a.b.c", "d.e.f", "g.h.i"} {
		c.add(tok, cachedToken{subject: "sub-" + tok, times: tokenTimes{exp: t0.Add(time.Hour)}})
	}
	if n := c.lru.Len(); n != 2 {
		t.Errorf("cache holds %d tokens, want its size 2", n)
	}
	if _, ok := c.get("a.b.c", 0); ok {
		t.Errorf("the least recently used token is still remembered past the size")
	}
	if e, ok := c.get("g.h.i", 0); !ok || e.subject != "sub-g.h.i" {
		t.Errorf("get(newest) = %q, %v, want sub-g.h.i, true", e.subject, ok)
	}
	long := strings.Repeat("x", maxCachedTokenLen+1)
	c.add(long, cachedToken{subject: "sub", times: tokenTimes{exp: t0.Add(time.Hour)}})
	if _, ok := c.get(long, 0); ok {
		t.Errorf("a token longer than %d bytes was remembered", maxCachedTokenLen)
	}
}
