package relay

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestAssignedCountries(t *testing.T) {
	all := AssignedCountries()
	if len(all) != 249 {
		t.Fatalf("%d assigned codes, want ISO 3166-1's 249", len(all))
	}
	for _, c := range all {
		got, err := ParseCountry(c.String())
		if err != nil || got != c {
			t.Errorf("ParseCountry(%q) = %v, %v", c.String(), got, err)
		}
	}
}

func TestParseCountry(t *testing.T) {
	for _, s := range []string{"de", "De", "DE"} {
		if c, err := ParseCountry(s); err != nil || c.String() != "DE" {
			t.Errorf("ParseCountry(%q) = %v, %v; want DE", s, c, err)
		}
	}
	for _, s := range []string{"", "D", "DEU", "XX", "ZZ", "EU", "UK", "1A", "É", "d\x00"} {
		if c, err := ParseCountry(s); err == nil {
			t.Errorf("ParseCountry(%q) = %v, want an error", s, c)
		}
	}
	if Country(0).Known() || Country(0).String() != "" || Country(numCodes+1).Known() {
		t.Error("zero or out-of-range Country counts as known")
	}
}

func TestCountryJSON(t *testing.T) {
	type v struct {
		C Country `json:"c,omitempty"`
	}
	b, err := json.Marshal(v{C: mustCountry(t, "fr")})
	if err != nil || string(b) != `{"c":"FR"}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	if b, _ := json.Marshal(v{}); string(b) != `{}` {
		t.Errorf("unknown country marshals as %s, want it left out", b)
	}
	var got v
	if err := json.Unmarshal([]byte(`{"c":"jp"}`), &got); err != nil || got.C.String() != "JP" {
		t.Errorf("Unmarshal = %v, %v", got, err)
	}
	if err := json.Unmarshal([]byte(`{"c":"QQ"}`), &got); err == nil {
		t.Error("Unmarshal took QQ")
	}
}

func mustCountry(t testing.TB, s string) Country {
	t.Helper()
	c, err := ParseCountry(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestJurisdiction(t *testing.T) {
	de, fr, us := mustCountry(t, "DE"), mustCountry(t, "FR"), mustCountry(t, "US")
	var anyJ Jurisdiction
	if !anyJ.Any() || !anyJ.Permits(0) || !anyJ.Permits(us) || anyJ.Countries() != nil {
		t.Error("the zero Jurisdiction must permit everything, unknown included")
	}
	deny := Deny(us)
	if deny.Permits(us) || !deny.Permits(de) || deny.Permits(0) {
		t.Error("Deny(US): want US and unknown refused, DE permitted")
	}
	if n := len(deny.Countries()); n != 248 {
		t.Errorf("Deny(US) permits %d countries, want 248", n)
	}
	allow := Allow(de, fr)
	if !allow.Permits(de) || !allow.Permits(fr) || allow.Permits(us) || allow.Permits(0) {
		t.Error("Allow(DE, FR) wrong")
	}
	if got := NewJurisdiction([]Country{de, fr}, []Country{fr}).Countries(); !slices.Equal(got, []Country{de}) {
		t.Errorf("allow DE,FR deny FR = %v, want [DE]", got)
	}
	if !NewJurisdiction(nil, nil).Any() {
		t.Error("no lists must mean any")
	}
	if got := Allow(de).Narrow(Allow(fr)).Countries(); len(got) != 0 {
		t.Errorf("DE narrowed by FR = %v, want nothing", got)
	}
}

// TestNarrowNeverWidens: over random policies, whatever a narrowed policy
// permits, both of its parts permit.
func TestNarrowNeverWidens(t *testing.T) {
	all := AssignedCountries()
	rng := rand.New(rand.NewPCG(1, 2))
	random := func() Jurisdiction {
		pick := func() []Country {
			var cs []Country
			for range rng.IntN(6) {
				cs = append(cs, all[rng.IntN(len(all))])
			}
			return cs
		}
		return NewJurisdiction(pick(), pick())
	}
	for range 2000 {
		a, b := random(), random()
		n := a.Narrow(b)
		for _, c := range append(all, 0) {
			if n.Permits(c) && (!a.Permits(c) || !b.Permits(c)) {
				t.Fatalf("%v narrowed by %v permits %q", a.Countries(), b.Countries(), c)
			}
			if !n.Permits(c) && a.Permits(c) && b.Permits(c) {
				t.Fatalf("%v narrowed by %v refuses %q, which both permit", a.Countries(), b.Countries(), c)
			}
		}
	}
}

// FuzzParseCountry: any text parses to an assigned code that prints back
// as its upper-case self, or is refused; never a panic.
func FuzzParseCountry(f *testing.F) {
	for _, s := range []string{"DE", "de", "XX", "", "D", "DEU", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCountry(s)
		if err != nil {
			return
		}
		if !c.Known() || len(s) != 2 || c.String() != strings.ToUpper(s) {
			t.Fatalf("ParseCountry(%q) = %q", s, c)
		}
		var back Country
		if err := back.UnmarshalText([]byte(c.String())); err != nil || back != c {
			t.Fatalf("%q does not read back: %v, %v", c, back, err)
		}
	})
}
