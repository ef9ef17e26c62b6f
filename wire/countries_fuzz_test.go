package wire_test

import (
	"strings"
	"testing"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/wire"
)

// FuzzCountryLists: any comma-separated lists (as GET /v1/turn's and GET
// /v1/candidates' exclude_countries, or split from a body or claim) are
// accepted or named by CheckCountries, never a panic; an accepted pair of
// lists makes a policy that permits exactly the allowed (all, when none) less the
// excluded, and one CheckCountries refuses never widens anything.
func FuzzCountryLists(f *testing.F) {
	f.Add("DE,FR", "FR")
	f.Add("", "US")
	f.Add("xx", "")
	f.Add("de,DE", ",")
	f.Fuzz(func(t *testing.T, allowText, excludeText string) {
		split := func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, ",")
		}
		allow, exclude := split(allowText), split(excludeText)
		ok := (allow == nil || wire.CheckCountries(allow) == "") && (exclude == nil || wire.CheckCountries(exclude) == "")
		j := wire.Jurisdiction(allow, exclude)
		for _, c := range relay.AssignedCountries() {
			in := func(l []string) bool {
				for _, s := range l {
					if strings.EqualFold(s, c.String()) {
						return true
					}
				}
				return false
			}
			want := ok && (allow == nil || in(allow)) && !in(exclude)
			if j.Permits(c) != want {
				t.Fatalf("allow %q exclude %q (valid %v): Permits(%s) = %v, want %v", allow, exclude, ok, c, j.Permits(c), want)
			}
		}
		if !ok && j.Any() {
			t.Fatalf("invalid lists %q, %q permit everything", allow, exclude)
		}
	})
}
