package wire_test

import (
	"slices"
	"testing"

	"github.com/relaygate/relaygate/wire"
)

func FuzzParseUsageRange(f *testing.F) {
	for _, s := range [][2]string{{"2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z"}, {"2026-12-01T00:00:00+02:00", "2026-12-01T00:00:00Z"},
		{"", "x"}, {"0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z"}, {"2026-12-01T00:00:00Z", "2027-01-06T00:00:00Z"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, from, to string) {
		fr, tt, fe := wire.ParseUsageRange(from, to)
		if len(fe) == 0 && (!tt.After(fr) || tt.Sub(fr) > wire.MaxUsageRange) {
			t.Fatalf("ParseUsageRange(%q, %q) = %v, %v without errors", from, to, fr, tt)
		}
	})
}

func TestParseUsageRange(t *testing.T) {
	for _, tt := range []struct {
		from, to string
		fields   []string
	}{
		{"2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z", nil},
		{"2026-12-01T00:00:00Z", "2027-01-05T00:00:00Z", nil},
		{"2026-12-01T00:00:00Z", "2027-01-05T00:00:01Z", []string{"to"}},
		{"2026-12-01T00:00:00Z", "2026-12-01T00:00:00Z", []string{"to"}},
		{"yesterday", "", []string{"from", "to"}},
		{"2026-12-01", "2026-12-02T00:00:00Z", []string{"from"}},
	} {
		_, _, fe := wire.ParseUsageRange(tt.from, tt.to)
		var got []string
		for _, e := range fe {
			got = append(got, e.Field)
		}
		if !slices.Equal(got, tt.fields) {
			t.Errorf("ParseUsageRange(%q, %q) errors on %q, want %q", tt.from, tt.to, got, tt.fields)
		}
	}
}
