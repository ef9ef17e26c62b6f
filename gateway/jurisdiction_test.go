package gateway_test

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/relaygate/relaygate/gateway"
	"github.com/relaygate/relaygate/probe"
	"github.com/relaygate/relaygate/relay"
)

// in is r stating country code (or none, for "").
func in(t testing.TB, code string, r relay.Relay) relay.Relay {
	t.Helper()
	r.Country = 0
	if code != "" {
		r.Country = relay.MustParseCountry(code)
	}
	return r
}

// countryTable is a Countries that knows a few addresses.
type countryTable map[netip.Addr]relay.Country

func (c countryTable) Country(a netip.Addr) (relay.Country, bool) {
	v, ok := c[a]
	return v, ok
}

// TestPickWithinNarrowsTheOperator: the operator's policy holds whatever
// the caller passes; the caller's can only narrow it.
func TestPickWithinNarrowsTheOperator(t *testing.T) {
	de, nl, us := relay.MustParseCountry("DE"), relay.MustParseCountry("NL"), relay.MustParseCountry("US")
	f := newFixtureWith(t, gateway.Config{Jurisdiction: relay.Deny(us)}, gateway.Deps{},
		in(t, "DE", fra1()), in(t, "NL", ams2()), in(t, "US", nyc1()))
	pick := func(within relay.Jurisdiction) (string, string, error) {
		p, err := f.gw.PickWithin(berlin, "alice", nil, nil, within)
		if err != nil {
			return "", "", err
		}
		b := ""
		if p.Backup != nil {
			b = p.Backup.Relay.ID
		}
		return p.Primary.Relay.ID, b, nil
	}
	if p, b, err := pick(relay.Jurisdiction{}); err != nil || p != "fra-1" || b != "ams-2" {
		t.Errorf("operator's policy alone: %s/%s, %v; want fra-1/ams-2 (never nyc-1)", p, b, err)
	}
	if p, b, err := pick(relay.Allow(us, nl)); err != nil || p != "ams-2" || b != "" {
		t.Errorf("caller allows US, NL: %s/%s, %v; want ams-2 alone (US stays denied)", p, b, err)
	}
	if p, _, err := pick(relay.Allow(us)); !errors.Is(err, relay.ErrOutsideJurisdiction) {
		t.Errorf("caller allows only the denied US: %s, %v; want ErrOutsideJurisdiction", p, err)
	}
	if p, b, err := pick(relay.Deny(de)); err != nil || p != "ams-2" || b != "" {
		t.Errorf("caller denies DE: %s/%s, %v; want ams-2 alone", p, b, err)
	}
	if got, _ := f.labelled("relaygate_selections_total", "result", "outside_jurisdiction"); got != 1 {
		t.Errorf(`relaygate_selections_total{result="outside_jurisdiction"} = %v, want 1`, got)
	}
	if got, _ := f.labelled("relaygate_selections_total", "result", "no_relay"); got != 0 {
		t.Errorf(`relaygate_selections_total{result="no_relay"} = %v, want 0: a policy refusal is not an outage`, got)
	}
}

// TestCountryFromGeoIP: a relay that names no country is placed by its
// addresses, heartbeating or static; one that names its country keeps it.
func TestCountryFromGeoIP(t *testing.T) {
	fr := relay.MustParseCountry("FR")
	geo := countryTable{netip.MustParseAddr("2001:db8::5"): fr} // Fra1's second address
	f := newFixtureWith(t, gateway.Config{}, gateway.Deps{Countries: geo}, in(t, "", fra1()), in(t, "NL", ams2()), in(t, "", nyc1()))
	for id, want := range map[string]string{"fra-1": "FR", "ams-2": "NL", "nyc-1": "FR"} {
		r, err := f.gw.Relay(t.Context(), id)
		if err != nil || r.Country.String() != want {
			t.Errorf("Relay(%s).Country = %q, %v; want %s", id, r.Country, err, want)
		}
	}
	nowhere := in(t, "", relayAt("lab-1", "lab", 0, 0))
	nowhere.Addresses = []netip.Addr{netip.MustParseAddr("192.0.2.9")}
	f.heartbeat(nowhere)
	if r, _ := f.gw.Relay(t.Context(), "lab-1"); r.Country.Known() {
		t.Errorf("a relay GeoIP cannot place: Country = %q, want unknown", r.Country)
	}

	c := in(t, "", coturn())
	if err := f.gw.SetStatic([]relay.Relay{c}); err != nil {
		t.Fatal(err)
	}
	f.report(probe.HealthUp, c.ID)
	if r, err := f.gw.Relay(t.Context(), c.ID); err != nil || r.Country != fr {
		t.Errorf("static relay: Country = %q, %v; want FR from GeoIP", r.Country, err)
	}
	// Under a policy the unknown relay is never chosen, the others may be.
	p, err := f.gw.PickWithin(relay.Client{Prefix: berlin.Prefix, Location: relay.Location{}, Located: true}, "alice", nil, nil, relay.Allow(fr))
	if err != nil || p.Primary.Relay.Country != fr || (p.Backup != nil && p.Backup.Relay.Country != fr) {
		t.Errorf("PickWithin(FR) = %+v, %v; want relays in FR only", p, err)
	}
}

// TestCandidatesKeepThePickersPolicies: what GET /v1/candidates offers is
// what PickWithin could choose: the operator's jurisdiction narrowed by
// the caller's, the transports asked for.
func TestCandidatesKeepThePickersPolicies(t *testing.T) {
	nl, us := relay.MustParseCountry("NL"), relay.MustParseCountry("US")
	f := newFixtureWith(t, gateway.Config{Jurisdiction: relay.Deny(us)}, gateway.Deps{},
		in(t, "DE", fra1()), in(t, "NL", ams2()), in(t, "US", nyc1()))
	ids := func(rs []relay.Relay) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	if got := ids(f.gw.Candidates(berlin, nil, relay.Jurisdiction{})); !slices.Equal(got, []string{"fra-1", "ams-2"}) {
		t.Errorf("Candidates under the operator's deny US = %q, want fra-1, ams-2", got)
	}
	if got := ids(f.gw.Candidates(berlin, nil, relay.Allow(us, nl))); !slices.Equal(got, []string{"ams-2"}) {
		t.Errorf("Candidates within US, NL = %q, want ams-2 only (the operator denies US)", got)
	}
	if got := ids(f.gw.Candidates(berlin, []relay.Transport{relay.Transport(99)}, relay.Jurisdiction{})); len(got) != 0 {
		t.Errorf("Candidates for a transport no relay offers = %q, want none", got)
	}
}
