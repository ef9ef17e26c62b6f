package ratelimit_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/relaygate/relaygate/ratelimit"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// clock is a settable time for the local buckets.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func TestMemory(t *testing.T) {
	c := &clock{now: t0}
	m, err := ratelimit.NewMemory(ratelimit.Config{Now: c.Now, Rules: map[string]ratelimit.Rule{
		"user":   {Limit: 60, Window: time.Minute, Burst: 3},
		"prefix": {Limit: 2, Window: time.Hour},
		"relay":  {},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if ok, _ := m.Allow("user", "alice"); !ok {
			t.Fatalf("alice's request %d refused within the burst of 3", i)
		}
	}
	if ok, retry := m.Allow("user", "alice"); ok || retry != time.Second {
		t.Errorf("Allow past the burst = %v, retry %v; want refused, retry 1s (60/1m refills one a second)", ok, retry)
	}
	if ok, _ := m.Allow("user", "bob"); !ok {
		t.Error("bob refused because alice spent her budget")
	}
	if ok, _ := m.Allow("prefix", "alice"); !ok {
		t.Error("scopes share a budget: the prefix scope refused key alice")
	}
	c.now = c.now.Add(time.Second)
	if ok, _ := m.Allow("user", "alice"); !ok {
		t.Error("alice refused a second later, when one request has refilled")
	}
	for i := range 100 {
		if ok, _ := m.Allow("relay", "fra-1"); !ok {
			t.Fatalf("request %d refused by a scope that is off", i)
		}
		if ok, _ := m.Allow("unknown", "fra-1"); !ok {
			t.Fatalf("request %d refused by a scope with no rule", i)
		}
	}
	if q, w, on := m.Policy("prefix"); q != 2 || w != time.Hour || !on {
		t.Errorf("Policy(prefix) = %d, %v, %v; want 2, 1h, true", q, w, on)
	}
	if _, _, on := m.Policy("relay"); on {
		t.Error("Policy(relay) is on for a scope that is off")
	}
}

// TestMemoryBounded: at most MaxKeys keys are remembered; the least
// recently used are forgotten (and start again with a full bucket).
func TestMemoryBounded(t *testing.T) {
	c := &clock{now: t0}
	m, err := ratelimit.NewMemory(ratelimit.Config{Now: c.Now, MaxKeys: 100, Rules: map[string]ratelimit.Rule{"user": {Limit: 1, Window: time.Hour}}})
	if err != nil {
		t.Fatal(err)
	}
	m.Allow("user", "alice")
	if ok, _ := m.Allow("user", "alice"); ok {
		t.Fatal("alice's second request admitted by a 1/1h rule")
	}
	for i := range 100 {
		m.Allow("user", fmt.Sprint("user-", i))
	}
	if ok, _ := m.Allow("user", "alice"); !ok {
		t.Error("alice still remembered after 100 other keys in a 100-key limiter")
	}
	if n := m.Keys("user"); n != 100 {
		t.Errorf("keys remembered = %d, want 100", n)
	}
}

func TestConfigRejects(t *testing.T) {
	for name, cfg := range map[string]ratelimit.Config{
		"negative max keys":  {MaxKeys: -1},
		"sub-second window":  {Rules: map[string]ratelimit.Rule{"user": {Limit: 1, Window: time.Millisecond}}},
		"negative limit":     {Rules: map[string]ratelimit.Rule{"user": {Limit: -1, Window: time.Second}}},
		"burst below zero":   {Rules: map[string]ratelimit.Rule{"user": {Limit: 1, Window: time.Second, Burst: -1}}},
		"window over a day":  {Rules: map[string]ratelimit.Rule{"user": {Limit: 1, Window: 25 * time.Hour}}},
		"fractional seconds": {Rules: map[string]ratelimit.Rule{"user": {Limit: 1, Window: 1500 * time.Millisecond}}},
	} {
		if _, err := ratelimit.NewMemory(cfg); !errors.Is(err, ratelimit.ErrRule) && !errors.Is(err, ratelimit.ErrConfig) {
			t.Errorf("%s: NewMemory() error = %v, want ErrRule or ErrConfig", name, err)
		}
	}
}
