package api_test

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/relaygate/relaygate/gateway"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/wire"
)

// tokyoRelayIP is a relay address only GeoIP places: in Japan.
const tokyoRelayIP = "203.0.113.8"

// TestJurisdictionOverHTTP: the operator denies US; relays state their
// country or GeoIP finds it; tokens and requests narrow the policy and
// never widen it; a policy nothing satisfies is 409. On both stores, and
// the countries survive a gateway that reads them back from the store.
func TestJurisdictionOverHTTP(t *testing.T) {
	for name, open := range bothStores {
		t.Run(name, func(t *testing.T) {
			e := newEnvOn(t, func(now func() time.Time) store.Registry { return open(t, now) }, trustLoopback)
			us, _ := relay.ParseCountry("US")
			e.setGateway(func(c *gateway.Config) { c.Jurisdiction = relay.Deny(us) })
			in := func(code string, hb map[string]any) map[string]any {
				if code != "" {
					hb["country"] = code
				}
				return hb
			}
			e.register("fra-1", in("DE", fra1()))
			e.register("ams-2", in("nl", ams2()))
			e.register("nyc-1", in("US", nyc1()))
			e.register("tyo-1", heartbeat("ap-northeast", "tyo", 35.69, 139.69, tokyoRelayIP)) // no country: GeoIP's

			// The relay views show each relay's country; a fresh gateway
			// over the same store reads them back.
			e.setStore(e.reg)
			if err := e.gw.Refresh(t.Context()); err != nil {
				t.Fatal(err)
			}
			resp, b := e.do(req{method: "GET", path: "/v1/relays", token: e.adminToken()})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /v1/relays = %d %s", resp.StatusCode, b)
			}
			countries := map[string]string{}
			for _, r := range decodeAs[wire.RelayList](t, b).Relays {
				countries[r.ID] = r.Country.String()
			}
			if want := map[string]string{"fra-1": "DE", "ams-2": "NL", "nyc-1": "US", "tyo-1": "JP"}; !maps.Equal(countries, want) {
				t.Errorf("relay countries = %v, want %v", countries, want)
			}

			pick := func(token string, body any) (int, wire.Credentials, wire.Problem) {
				t.Helper()
				resp, b := e.do(req{method: "POST", path: "/v1/credentials", token: token, body: body,
					header: map[string]string{"X-Forwarded-For": berlinIP}})
				if resp.StatusCode != http.StatusOK {
					return resp.StatusCode, wire.Credentials{}, problemOf(t, resp, b)
				}
				return resp.StatusCode, decodeAs[wire.Credentials](t, b), wire.Problem{}
			}
			ids := func(c wire.Credentials) []string {
				var out []string
				for _, ch := range c.Choices() {
					out = append(out, ch.RelayID+"@"+ch.Country.String())
				}
				return out
			}
			alice := e.userToken("alice")
			claiming := func(claims map[string]any) string {
				return e.hsToken(userSecret, "bob", func(c jwt.MapClaims) {
					for k, v := range claims {
						c[k] = v
					}
				})
			}
			tests := []struct {
				name  string
				token string
				body  any
				want  []string // primary, backup; nil for a refusal
				code  int
				typ   string
			}{
				{name: "operator's policy alone", token: alice, want: []string{"fra-1@DE", "ams-2@NL"}},
				{name: "request excludes DE", token: alice, body: map[string]any{"exclude_countries": []string{"de"}}, want: []string{"ams-2@NL", "tyo-1@JP"}},
				{name: "request cannot widen to the denied US", token: alice, body: map[string]any{"allowed_countries": []string{"US"}},
					code: http.StatusConflict, typ: "no-relay-in-jurisdiction"},
				{name: "request allows two", token: alice, body: map[string]any{"allowed_countries": []string{"JP", "US", "NL"}}, want: []string{"ams-2@NL", "tyo-1@JP"}},
				{name: "token claim narrows", token: claiming(map[string]any{"allowed_countries": []string{"JP", "NL"}}), want: []string{"ams-2@NL", "tyo-1@JP"}},
				{name: "request narrows the token's claim", token: claiming(map[string]any{"allowed_countries": []string{"JP", "NL"}}),
					body: map[string]any{"exclude_countries": []string{"NL"}}, want: []string{"tyo-1@JP"}},
				{name: "request cannot widen the token's claim", token: claiming(map[string]any{"exclude_countries": []string{"JP", "NL", "DE"}}),
					body: map[string]any{"allowed_countries": []string{"JP"}}, code: http.StatusConflict, typ: "no-relay-in-jurisdiction"},
				{name: "invalid code in the body", token: alice, body: map[string]any{"exclude_countries": []string{"XX"}},
					code: http.StatusBadRequest, typ: "invalid-body"},
				{name: "invalid code in a claim", token: claiming(map[string]any{"exclude_countries": []string{"Germany"}}),
					code: http.StatusUnauthorized, typ: "unauthorized"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					code, c, p := pick(tt.token, tt.body)
					if tt.want == nil {
						if code != tt.code || p.Type != "urn:relaygate:problem:"+tt.typ {
							t.Fatalf("status %d, type %q; want %d %s", code, p.Type, tt.code, tt.typ)
						}
						return
					}
					if got := ids(c); code != http.StatusOK || !slices.Equal(got, tt.want) {
						t.Fatalf("status %d, relays %v (%+v); want 200 %v", code, got, p, tt.want)
					}
				})
			}

			turn := func(query string) (*http.Response, []byte) {
				return e.do(req{method: "GET", path: "/v1/turn" + query, token: alice, header: map[string]string{"X-Forwarded-For": berlinIP}})
			}
			resp, b = turn("?exclude_countries=DE,NL")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /v1/turn?exclude_countries=DE,NL = %d %s", resp.StatusCode, b)
			}
			for _, u := range decodeAs[wire.TurnServer](t, b).URIs {
				if !strings.Contains(u, tokyoRelayIP) && !strings.Contains(u, "tyo.relay.example") {
					t.Errorf("GET /v1/turn?exclude_countries=DE,NL gave %s, not tyo-1's (the only one left)", u)
				}
			}
			resp, b = turn("?exclude_countries=DE&exclude_countries=NL,jp")
			if p := problemOf(t, resp, b); resp.StatusCode != http.StatusConflict || p.Type != "urn:relaygate:problem:no-relay-in-jurisdiction" {
				t.Errorf("GET /v1/turn excluding every permitted country = %d %s, want 409 no-relay-in-jurisdiction", resp.StatusCode, p.Type)
			}
			for _, q := range []string{"?exclude_countries=", "?exclude_countries=DE,XX", "?exclude_countries=DE,DE"} {
				resp, b = turn(q)
				if p := problemOf(t, resp, b); resp.StatusCode != http.StatusBadRequest || p.Type != "urn:relaygate:problem:invalid-parameter" {
					t.Errorf("GET /v1/turn%s = %d %s, want 400 invalid-parameter", q, resp.StatusCode, p.Type)
				}
			}

			// A heartbeat naming no country GeoIP knows is refused only if
			// it names a bad one.
			resp, b = e.do(req{method: "PUT", path: "/v1/relays/lab-1", token: e.nodeToken("lab-1"), body: in("EU", heartbeat("eu", "lab", 50, 8, "203.0.113.9"))})
			if p := problemOf(t, resp, b); resp.StatusCode != http.StatusBadRequest || len(p.Errors) != 1 || p.Errors[0].Field != "country" {
				t.Errorf("heartbeat with country EU = %d %+v, want 400 naming country", resp.StatusCode, p)
			}
		})
	}
}
