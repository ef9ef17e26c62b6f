package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/turnrelay/relaytest"
	"github.com/relaygate/relaygate/wire"
)

// TestJurisdictionWithRealRelaynodes: three real relaynodes report their
// countries (DE, NL, US) in their heartbeats; the gateway's operator
// denies US. Over many answers (half of them exploring) no relay in the
// US is ever handed out; a token's claim narrows to DE, and a real
// allocation relays packets through the relay it got; a request cannot
// widen to the US (409); and when the DE relay shuts down, the answer for
// that token is 409 rather than a relay outside its policy. On the
// in-memory store and on Redis.
func TestJurisdictionWithRealRelaynodes(t *testing.T) {
	forEachStore(t, testJurisdictionWithRealRelaynodes)
}

func testJurisdictionWithRealRelaynodes(t *testing.T, storeArgs []string) {
	secret := randomSecret(t)
	gw, gateway := startGateway(t, secret, append([]string{"--deny-countries=us", "--explore-share=0.5"}, storeArgs...)...)
	relays := map[string]*testenv.Proc{}
	udpOf := map[string]string{}
	for _, r := range []struct{ id, site, country, lat, lon string }{
		{"de-1", "fra", "DE", "50.11", "8.68"}, {"nl-1", "ams", "NL", "52.37", "4.90"}, {"us-1", "nyc", "US", "40.71", "-74.0"},
	} {
		p, udp, _ := startRelaynode(t, secret, "--id="+r.id, "--region=test", "--site="+r.site, "--country="+r.country,
			"--lat="+r.lat, "--lon="+r.lon, "--gateway-url="+gateway, "--heartbeat-interval=1s",
			"--node-token="+testenv.Token(t, nodeJWTSecret, r.id, time.Hour))
		relays[r.id], udpOf[r.id] = p, udp
	}

	admin := testenv.Token(t, adminJWTSecret, "ops", time.Hour)
	testenv.Eventually(t, "the relays registered with their countries", 20*time.Second, 100*time.Millisecond, func() error {
		code, body := send(t, http.MethodGet, gateway+"/v1/relays", admin, nil)
		var list wire.RelayList
		if code != http.StatusOK || json.Unmarshal(body, &list) != nil {
			return fmt.Errorf("GET /v1/relays = %d %s", code, body)
		}
		got := map[string]string{}
		for _, r := range list.Relays {
			got[r.ID] = r.Country.String()
		}
		if got["de-1"] != "DE" || got["nl-1"] != "NL" || got["us-1"] != "US" {
			return fmt.Errorf("relay countries %v", got)
		}
		return nil
	})

	credentials := func(token string, body any) (int, wire.Credentials, wire.Problem) {
		t.Helper()
		code, b := send(t, http.MethodPost, gateway+"/v1/credentials", token, body)
		var c wire.Credentials
		var p wire.Problem
		if code == http.StatusOK {
			if err := json.Unmarshal(b, &c); err != nil {
				t.Fatalf("credentials %s: %v", b, err)
			}
		} else if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("problem %s: %v", b, err)
		}
		return code, c, p
	}
	ids := func(c wire.Credentials) []string {
		var out []string
		for _, ch := range c.Choices() {
			out = append(out, ch.RelayID)
		}
		return out
	}

	for i := range 40 {
		code, c, p := credentials(testenv.Token(t, userJWTSecret, fmt.Sprintf("user-%d", i), time.Hour), nil)
		if code != http.StatusOK {
			t.Fatalf("credentials %d = %d %+v", i, code, p)
		}
		if got := ids(c); slices.Contains(got, "us-1") || len(got) != 2 {
			t.Fatalf("answer %d = %v: want de-1 and nl-1, never us-1 (the operator denies US)", i, got)
		}
	}

	deOnly := claimToken(t, "alice", map[string]any{"exclude_countries": []string{"NL"}})
	code, c, p := credentials(deOnly, nil)
	if got := ids(c); code != http.StatusOK || !slices.Equal(got, []string{"de-1"}) || c.Primary.Country.String() != "DE" {
		t.Fatalf("token excluding NL: %d %v %+v; want de-1 alone, in DE", code, got, p)
	}
	// A real allocation on the relay the policy left, with its credential.
	addr := udpAddr(t, c.Primary.URLs)
	client, relayed, err := relaytest.Allocate(t, addr, c.Username, c.Credential)
	if err != nil {
		t.Fatalf("allocate on de-1 (%s): %v", addr, err)
	}
	peer := testenv.ListenUDP(t)
	if err := client.CreatePermission(peer.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	echoVia(t, relayed, peer)

	if code, _, p := credentials(deOnly, map[string]any{"allowed_countries": []string{"US", "NL"}}); code != http.StatusConflict ||
		p.Type != "urn:relaygate:problem:no-relay-in-jurisdiction" {
		t.Errorf("request widening to US, NL = %d %s; want 409 no-relay-in-jurisdiction", code, p.Type)
	}
	code, b := send(t, http.MethodGet, gateway+"/v1/turn?exclude_countries=DE", testenv.Token(t, userJWTSecret, "bob", time.Hour), nil)
	var ts wire.TurnServer
	if code != http.StatusOK || json.Unmarshal(b, &ts) != nil || len(ts.URIs) == 0 {
		t.Fatalf("GET /v1/turn?exclude_countries=DE = %d %s", code, b)
	}
	nlUDP := udpOf["nl-1"]
	for _, u := range ts.URIs {
		if !strings.Contains(u, nlUDP) && !strings.Contains(u, "transport=tcp") {
			t.Errorf("GET /v1/turn?exclude_countries=DE gave %s; want nl-1's (%s) alone", u, nlUDP)
		}
	}

	// de-1 leaves: the token that permits only DE gets 409, never a relay
	// elsewhere; one without a claim gets nl-1, still never us-1.
	stopClean(t, relays["de-1"])
	testenv.Eventually(t, "409 once de-1 is gone", 20*time.Second, 100*time.Millisecond, func() error {
		if code, c, p := credentials(deOnly, nil); code != http.StatusConflict || p.Type != "urn:relaygate:problem:no-relay-in-jurisdiction" {
			if code == http.StatusOK && !slices.Equal(ids(c), []string{"de-1"}) {
				t.Fatalf("token excluding NL got %v", ids(c))
			}
			return fmt.Errorf("credentials = %d %s", code, p.Type)
		}
		return nil
	})
	if code, c, p := credentials(testenv.Token(t, userJWTSecret, "carol", time.Hour), nil); code != http.StatusOK || !slices.Equal(ids(c), []string{"nl-1"}) {
		t.Errorf("without a claim after de-1 left: %d %v %+v; want nl-1 alone", code, ids(c), p)
	}
	stopClean(t, gw)
}

// claimToken is a user token for sub with extra claims.
func claimToken(t *testing.T, sub string, extra map[string]any) string {
	t.Helper()
	now := time.Now()
	claims := jwt.MapClaims{"sub": sub, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range extra {
		claims[k] = v
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(userJWTSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// udpAddr is the host:port of the turn: URL for UDP among urls.
func udpAddr(t *testing.T, urls []string) string {
	t.Helper()
	for _, u := range urls {
		if rest, ok := strings.CutPrefix(u, "turn:"); ok {
			if addr, ok := strings.CutSuffix(rest, "?transport=udp"); ok {
				return addr
			}
		}
	}
	t.Fatalf("no UDP TURN URL in %v", urls)
	return ""
}
