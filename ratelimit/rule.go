package ratelimit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// Rule is one scope's budget: Limit requests per Window, at most Burst at
// once. The zero Rule is off: every request is admitted.
type Rule struct {
	Limit  int           // requests per Window; 0: off
	Window time.Duration // whole seconds, 1s..24h
	Burst  int           // most requests admitted at once; 0 means Limit
}

// Bounds on a rule, so a typo cannot make a budget that never refills or
// one that no counter holds.
const (
	maxLimit  = 1_000_000_000
	minWindow = time.Second
	maxWindow = 24 * time.Hour
)

// Off reports whether the rule admits everything.
func (r Rule) Off() bool { return r.Limit == 0 }

func (r Rule) withDefaults() Rule {
	if r.Burst == 0 {
		r.Burst = r.Limit
	}
	return r
}

func (r Rule) validate() error {
	switch {
	case r.Off():
		return nil
	case r.Limit < 0 || r.Limit > maxLimit:
		return fmt.Errorf("limit %d out of range 1..%d: %w", r.Limit, maxLimit, ErrRule)
	case r.Window < minWindow || r.Window > maxWindow || r.Window%time.Second != 0:
		return fmt.Errorf("window %v: want whole seconds from %v to %v: %w", r.Window, minWindow, maxWindow, ErrRule)
	case r.Burst < 1 || r.Burst > maxLimit:
		return fmt.Errorf("burst %d out of range 1..%d: %w", r.Burst, maxLimit, ErrRule)
	}
	return nil
}

// every is the rule's refill rate for golang.org/x/time/rate.
func (r Rule) every() rate.Limit { return rate.Limit(float64(r.Limit) / r.Window.Seconds()) }

// String is the rule in ParseRule's form.
func (r Rule) String() string {
	if r.Off() {
		return "off"
	}
	s := strconv.Itoa(r.Limit) + "/" + formatWindow(r.Window)
	if r.Burst != 0 && r.Burst != r.Limit {
		s += ",burst=" + strconv.Itoa(r.Burst)
	}
	return s
}

// formatWindow writes 60s as "1m" and 3600s as "1h", as operators write them.
func formatWindow(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

// maxRuleLen bounds what ParseRule reads; the longest sensible rule is
// about 30 bytes.
const maxRuleLen = 64

// ParseRule reads a rule as flags write it: "LIMIT/WINDOW" or
// "LIMIT/WINDOW,burst=BURST", e.g. "60/1m" or "600/1h,burst=30"; WINDOW is
// a Go duration of whole seconds, or a bare unit ("s", "m", "h") meaning
// one of it. "off" is the zero Rule. The rule it returns has its Burst set.
func ParseRule(s string) (Rule, error) {
	if len(s) > maxRuleLen {
		return Rule{}, fmt.Errorf("rule longer than %d bytes: %w", maxRuleLen, ErrRule)
	}
	if s == "off" {
		return Rule{}, nil
	}
	spec, burst, hasBurst := strings.Cut(s, ",")
	limit, window, ok := strings.Cut(spec, "/")
	if !ok {
		return Rule{}, fmt.Errorf("rule %q: want LIMIT/WINDOW[,burst=N] or off: %w", s, ErrRule)
	}
	var r Rule
	var err error
	if r.Limit, err = parseCount(limit); err != nil || r.Limit == 0 {
		return Rule{}, fmt.Errorf("rule %q: limit must be a positive integer: %w", s, ErrRule)
	}
	switch window {
	case "s", "m", "h":
		window = "1" + window
	}
	if r.Window, err = time.ParseDuration(window); err != nil {
		return Rule{}, fmt.Errorf("rule %q: window is not a duration: %w", s, ErrRule)
	}
	if hasBurst {
		b, ok := strings.CutPrefix(burst, "burst=")
		if r.Burst, err = parseCount(b); !ok || err != nil || r.Burst == 0 {
			return Rule{}, fmt.Errorf("rule %q: want burst=N with N a positive integer: %w", s, ErrRule)
		}
	}
	r = r.withDefaults()
	if err := r.validate(); err != nil {
		return Rule{}, fmt.Errorf("rule %q: %w", s, err)
	}
	return r, nil
}

// parseCount reads a decimal count without sign, spaces or leading zeros'
// surprises; strconv.Atoi alone would take "+5".
func parseCount(s string) (int, error) {
	if s == "" || len(s) > 10 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errors.New("not a count")
	}
	return strconv.Atoi(s)
}
