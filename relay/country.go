package relay

import (
	"fmt"
	"strings"
)

// Country is an assigned ISO 3166-1 alpha-2 country code, held as a small
// number so that selection can test it against a policy with one bit
// lookup. The zero value is "unknown": a relay that named no country and
// whose address GeoIP could not place. Its text form is the upper-case
// code ("DE"), "" for unknown.
type Country uint16

// numCodes is the number of two-letter codes, assigned or not: AA..ZZ.
const numCodes = 26 * 26

// assignedCodes are the 249 codes ISO 3166-1 assigns to countries and
// territories (the ISO 3166 Maintenance Agency's list). User-assigned and
// reserved codes (XX, ZZ, EU, UK, ...) are refused: a policy naming one
// would silently match nothing.
const assignedCodes = "" +
	"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ " +
	"BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ " +
	"DE DJ DK DM DO DZ " +
	"EC EE EG EH ER ES ET " +
	"FI FJ FK FM FO FR " +
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY " +
	"HK HM HN HR HT HU " +
	"ID IE IL IM IN IO IQ IR IS IT " +
	"JE JM JO JP " +
	"KE KG KH KI KM KN KP KR KW KY KZ " +
	"LA LB LC LI LK LR LS LT LU LV LY " +
	"MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ " +
	"NA NC NE NF NG NI NL NO NP NR NU NZ " +
	"OM " +
	"PA PE PF PG PH PK PL PM PN PR PS PT PW PY " +
	"QA " +
	"RE RO RS RU RW " +
	"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ " +
	"TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ " +
	"UA UG UM US UY UZ " +
	"VA VC VE VG VI VN VU " +
	"WF WS " +
	"YE YT " +
	"ZA ZM ZW"

// countrySet is a set of countries, one bit per two-letter code.
type countrySet [(numCodes + 63) / 64]uint64

func (s *countrySet) add(c Country)    { s[(c-1)/64] |= 1 << ((c - 1) % 64) }
func (s *countrySet) remove(c Country) { s[(c-1)/64] &^= 1 << ((c - 1) % 64) }
func (s *countrySet) has(c Country) bool {
	return c > 0 && c <= numCodes && s[(c-1)/64]&(1<<((c-1)%64)) != 0
}
func (s *countrySet) intersect(o *countrySet) {
	for i := range s {
		s[i] &= o[i]
	}
}

// assigned is the set of assignedCodes.
var assigned = func() countrySet {
	var s countrySet
	for _, code := range strings.Fields(assignedCodes) {
		s.add(countryOf(code[0], code[1]))
	}
	return s
}()

// countryOf is the Country of two upper-case letters.
func countryOf(a, b byte) Country { return Country(a-'A')*26 + Country(b-'A') + 1 }

// ParseCountry reads an assigned ISO 3166-1 alpha-2 code, in either case.
func ParseCountry(s string) (Country, error) {
	if len(s) != 2 {
		return 0, fmt.Errorf("%w: %q", ErrCountry, truncate(s, 8))
	}
	a, b := upper(s[0]), upper(s[1])
	if a < 'A' || a > 'Z' || b < 'A' || b > 'Z' {
		return 0, fmt.Errorf("%w: %q", ErrCountry, s)
	}
	c := countryOf(a, b)
	if !assigned.has(c) {
		return 0, fmt.Errorf("%w: %q", ErrCountry, s)
	}
	return c, nil
}

// MustParseCountry is ParseCountry for a code known to be good (tests,
// tables); it panics on any other.
func MustParseCountry(s string) Country {
	c, err := ParseCountry(s)
	if err != nil {
		panic(err)
	}
	return c
}

// ParseCountries reads a list of codes (ParseCountry each).
func ParseCountries(ss []string) ([]Country, error) {
	out := make([]Country, 0, len(ss))
	for _, s := range ss {
		c, err := ParseCountry(s)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// AssignedCountries lists every assigned code, in alphabetical order.
func AssignedCountries() []Country {
	var out []Country
	for c := Country(1); c <= numCodes; c++ {
		if assigned.has(c) {
			out = append(out, c)
		}
	}
	return out
}

func upper(b byte) byte {
	if b >= 'a' && b <= 'z' {
		return b - 'a' + 'A'
	}
	return b
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Known reports whether c is an assigned code rather than unknown.
func (c Country) Known() bool { return assigned.has(c) }

// String is the upper-case code, "" for unknown.
func (c Country) String() string {
	if !c.Known() {
		return ""
	}
	return string([]byte{byte((c-1)/26) + 'A', byte((c-1)%26) + 'A'}) //nolint:gosec // G115: Known bounds c to 1..676, so both digits are below 26
}

// MarshalText writes the code, "" for unknown.
func (c Country) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads a code (ParseCountry); "" is unknown.
func (c *Country) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*c = 0
		return nil
	}
	v, err := ParseCountry(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// Jurisdiction is a policy on where relays may be: the countries a relay
// must be in to be chosen. The zero value permits every relay, including
// those whose country is unknown. Any other value permits only relays
// whose country is known and in its set: a relay of unknown country could
// be anywhere, so a deny list refuses it too.
//
// Policies combine by Narrow, which can only remove countries: the
// operator's policy narrowed by a token's and then by a request's is never
// wider than the operator's.
type Jurisdiction struct {
	restricted bool
	permit     countrySet
}

// Allow is the policy that permits exactly the given countries (none when
// the list is empty).
func Allow(cs ...Country) Jurisdiction {
	j := Jurisdiction{restricted: true}
	for _, c := range cs {
		if c.Known() {
			j.permit.add(c)
		}
	}
	return j
}

// Deny is the policy that permits every known country but the given ones.
func Deny(cs ...Country) Jurisdiction {
	j := Jurisdiction{restricted: true, permit: assigned}
	for _, c := range cs {
		if c.Known() {
			j.permit.remove(c)
		}
	}
	return j
}

// NewJurisdiction is the policy of an allow list and a deny list, either
// possibly empty: the allowed countries (every country when allow is
// empty) less the denied ones. With both empty it permits everything.
func NewJurisdiction(allow, deny []Country) Jurisdiction {
	switch {
	case len(allow) == 0 && len(deny) == 0:
		return Jurisdiction{}
	case len(allow) == 0:
		return Deny(deny...)
	}
	return Allow(allow...).Narrow(Deny(deny...))
}

// Narrow is the policy that permits what both j and o permit.
func (j Jurisdiction) Narrow(o Jurisdiction) Jurisdiction {
	switch {
	case !o.restricted:
		return j
	case !j.restricted:
		return o
	}
	j.permit.intersect(&o.permit)
	return j
}

// Any reports whether j permits every relay (the zero policy).
func (j Jurisdiction) Any() bool { return !j.restricted }

// Permits reports whether a relay in country c may be chosen under j.
func (j Jurisdiction) Permits(c Country) bool { return !j.restricted || j.permit.has(c) }

// Countries lists the countries j permits, alphabetically; nil when it
// permits everything.
func (j Jurisdiction) Countries() []Country {
	if !j.restricted {
		return nil
	}
	out := []Country{}
	for _, c := range AssignedCountries() {
		if j.permit.has(c) {
			out = append(out, c)
		}
	}
	return out
}
