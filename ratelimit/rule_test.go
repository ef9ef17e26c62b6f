package ratelimit_test

import (
	"errors"
	"testing"
	"time"

	"github.com/relaygate/relaygate/ratelimit"
)

func TestParseRule(t *testing.T) {
	tests := []struct {
		in   string
		want ratelimit.Rule
		str  string // String(); "" means in
	}{
		{in: "off", want: ratelimit.Rule{}},
		{in: "60/1m", want: ratelimit.Rule{Limit: 60, Window: time.Minute, Burst: 60}},
		{in: "60/m", want: ratelimit.Rule{Limit: 60, Window: time.Minute, Burst: 60}, str: "60/1m"},
		{in: "600/1h,burst=30", want: ratelimit.Rule{Limit: 600, Window: time.Hour, Burst: 30}},
		{in: "5/90s", want: ratelimit.Rule{Limit: 5, Window: 90 * time.Second, Burst: 5}},
		{in: "10/60s,burst=10", want: ratelimit.Rule{Limit: 10, Window: time.Minute, Burst: 10}, str: "10/1m"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ratelimit.ParseRule(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("ParseRule(%q) = %+v, %v, want %+v", tt.in, got, err, tt.want)
			}
			want := tt.str
			if want == "" {
				want = tt.in
			}
			if s := got.String(); s != want {
				t.Errorf("String() = %q, want %q", s, want)
			}
		})
	}
	for _, bad := range []string{"", "on", "60", "60/", "/1m", "0/1m", "-1/1m", "+5/1m", "60/0s", "60/500ms", "60/1.5s",
		"60/25h", "60/1m,", "60/1m,burst=0", "60/1m,burst=x", "60/1m,bursts=5", "60 /1m", "99999999999/1m", "60/1m,burst=+3"} {
		if r, err := ratelimit.ParseRule(bad); !errors.Is(err, ratelimit.ErrRule) {
			t.Errorf("ParseRule(%q) = %+v, %v, want ErrRule", bad, r, err)
		}
	}
}

// FuzzParseRule: whatever parses is a valid rule, and its String parses
// back to the same rule.
func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"off", "60/1m", "600/1h,burst=30", "5/90s", "1/s", "60/1m,burst=", "9/9h9m9s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ratelimit.ParseRule(s)
		if err != nil {
			return
		}
		if !r.Off() && (r.Limit < 1 || r.Burst < 1 || r.Window < time.Second || r.Window%time.Second != 0) {
			t.Fatalf("ParseRule(%q) = %+v: not a valid rule", s, r)
		}
		back, err := ratelimit.ParseRule(r.String())
		if err != nil || back != r {
			t.Fatalf("ParseRule(%q).String() = %q parses to %+v, %v", s, r.String(), back, err)
		}
	})
}
