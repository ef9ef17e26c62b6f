package api_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/relaygate/relaygate/wire"
)

// TestRememberedTokens checks that a token the gateway remembers is held
// to the same rules as one it parses: it still expires, a changed byte makes
// it another (refused) token, each keeps its own subject, and it stays a
// token of its role only.
func TestRememberedTokens(t *testing.T) {
	pseudonym := func(t *testing.T, b []byte) string {
		t.Helper()
		var cr wire.Credentials
		if err := json.Unmarshal(b, &cr); err != nil {
			t.Fatal(err)
		}
		_, p, _ := strings.Cut(cr.Username, ".")
		return p
	}
	credentials := func(e *env, tok string) (int, []byte) {
		resp, b := e.do(req{method: "POST", path: "/v1/credentials", token: tok})
		return resp.StatusCode, b
	}
	// remembered is a gateway with one relay and a token of alice's it has
	// accepted once.
	remembered := func(t *testing.T, claims ...func(jwt.MapClaims)) (*env, string) {
		t.Helper()
		e := newEnv(t)
		e.register("fra-1", fra1())
		tok := e.hsToken(userSecret, "alice", claims...)
		if st, b := credentials(e, tok); st != 200 {
			t.Fatalf("first use: status %d: %s", st, b)
		}
		return e, tok
	}

	t.Run("a remembered token still expires", func(t *testing.T) {
		e, tok := remembered(t, func(c jwt.MapClaims) { c["exp"] = t0.Add(30 * time.Second).Unix() })
		e.clock.Advance(33 * time.Second) // past exp, within the 5 s leeway
		e.register("fra-1", fra1())       // the relay heartbeats meanwhile
		if st, b := credentials(e, tok); st != 200 {
			t.Fatalf("within the leeway: status %d: %s", st, b)
		}
		e.clock.Advance(3 * time.Second) // past exp + leeway
		e.register("fra-1", fra1())
		resp, b := e.do(req{method: "POST", path: "/v1/credentials", token: tok})
		if resp.StatusCode != 401 {
			t.Fatalf("expired: status %d, want 401: %s", resp.StatusCode, b)
		}
		if p := problemOf(t, resp, b); p.Detail != "token expired" {
			t.Errorf("expired: detail %q, want %q", p.Detail, "token expired")
		}
	})

	t.Run("a changed signature is another token", func(t *testing.T) {
		e, tok := remembered(t)
		head, sig, _ := strings.Cut(tok, ".")
		payload, sig, _ := strings.Cut(sig, ".")
		flipped := "A"
		if sig[0] == 'A' {
			flipped = "B"
		}
		forged := head + "." + payload + "." + flipped + sig[1:]
		if st, b := credentials(e, forged); st != 401 {
			t.Errorf("forged copy of a remembered token: status %d, want 401: %s", st, b)
		}
		if st, b := credentials(e, tok+"x"); st != 401 {
			t.Errorf("remembered token with a byte appended: status %d, want 401: %s", st, b)
		}
	})

	t.Run("each token keeps its own subject", func(t *testing.T) {
		e := newEnv(t)
		e.register("fra-1", fra1())
		alice, bob := e.userToken("alice"), e.userToken("bob")
		var first [2]string
		for round := range 3 {
			for i, tok := range []string{alice, bob} {
				st, b := credentials(e, tok)
				if st != 200 {
					t.Fatalf("round %d: status %d: %s", round, st, b)
				}
				p := pseudonym(t, b)
				if round == 0 {
					first[i] = p
				} else if p != first[i] {
					t.Errorf("round %d, token %d: pseudonym %q, first answer had %q", round, i, p, first[i])
				}
			}
		}
		if first[0] == first[1] {
			t.Errorf("alice and bob share the pseudonym %q", first[0])
		}
	})

	t.Run("a remembered user token is no admin token", func(t *testing.T) {
		e, tok := remembered(t)
		if resp, b := e.do(req{method: "GET", path: "/v1/relays", token: tok}); resp.StatusCode != 403 {
			t.Errorf("GET /v1/relays with a remembered user token: status %d, want 403: %s", resp.StatusCode, b)
		}
	})
}
