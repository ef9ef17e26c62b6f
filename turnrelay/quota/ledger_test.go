package quota

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLedgerReserve(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		users []string // reserved in order
		want  []error
	}{
		{name: "no limits", users: []string{"a", "a", "b"}, want: []error{nil, nil, nil}},
		{name: "total cap", cfg: Config{MaxAllocations: 2}, users: []string{"a", "b", "c"}, want: []error{nil, nil, ErrFull}},
		{name: "user quota", cfg: Config{UserQuota: 1}, users: []string{"a", "a", "b"}, want: []error{nil, ErrUserQuota, nil}},
		{name: "empty user has no quota", cfg: Config{UserQuota: 1}, users: []string{"", ""}, want: []error{nil, nil}},
		{name: "total before user", cfg: Config{MaxAllocations: 1, UserQuota: 1}, users: []string{"a", "a"}, want: []error{nil, ErrFull}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := New(tt.cfg, t0)
			if err != nil {
				t.Fatal(err)
			}
			for i, u := range tt.users {
				if err := l.Reserve(u, t0); !errors.Is(err, tt.want[i]) {
					t.Errorf("Reserve #%d (%q) = %v, want %v", i, u, err, tt.want[i])
				}
			}
		})
	}
}

func TestLedgerUserQuotaRejectionKeepsTotal(t *testing.T) {
	l, _ := New(Config{UserQuota: 1}, t0)
	if err := l.Reserve("a", t0); err != nil {
		t.Fatal(err)
	}
	if !l.UserFull("a") || l.UserFull("b") {
		t.Errorf("UserFull(a), UserFull(b) = %v, %v; want true, false", l.UserFull("a"), l.UserFull("b"))
	}
	if err := l.Reserve("a", t0); !errors.Is(err, ErrUserQuota) {
		t.Fatalf("second Reserve(a) = %v, want ErrUserQuota", err)
	}
	if got := l.Allocations(); got != 1 {
		t.Errorf("Allocations() after a refused reservation = %d, want 1", got)
	}
	l.Release("a")
	if l.UserFull("a") || l.Allocations() != 0 {
		t.Errorf("after Release: UserFull(a) = %v, Allocations() = %d; want false, 0", l.UserFull("a"), l.Allocations())
	}
	if err := l.Reserve("a", t0); err != nil {
		t.Errorf("Reserve(a) after Release = %v", err)
	}
}

func TestLedgerDraining(t *testing.T) {
	l, _ := New(Config{}, t0)
	if err := l.Reserve("a", t0); err != nil {
		t.Fatal(err)
	}
	if !l.Drain() || l.Drain() {
		t.Error("Drain() twice = first true then false, want that")
	}
	if !l.Draining() {
		t.Error("Draining() = false after Drain")
	}
	if err := l.Reserve("b", t0); !errors.Is(err, ErrDraining) {
		t.Errorf("Reserve while draining = %v, want ErrDraining", err)
	}
	select {
	case <-l.Idle():
		t.Fatal("Idle signalled with an allocation left")
	default:
	}
	l.Release("a")
	select {
	case <-l.Idle():
	default:
		t.Fatal("Idle not signalled after the last Release")
	}
}

func TestLedgerBandwidth(t *testing.T) {
	l, _ := New(Config{MaxBPS: 8_000_000}, t0)
	for l.Bandwidth().Allow(1000, t0) {
	}
	if err := l.Reserve("a", t0); !errors.Is(err, ErrBandwidth) {
		t.Errorf("Reserve at the bandwidth budget = %v, want ErrBandwidth", err)
	}
	if err := l.Reserve("a", t0.Add(time.Second)); err != nil {
		t.Errorf("Reserve a second later = %v, want success", err)
	}
	if none, _ := New(Config{}, t0); none.Bandwidth() != nil {
		t.Error("Bandwidth() without MaxBPS is not nil")
	}
}

func TestConfigValidate(t *testing.T) {
	tests := map[string]struct {
		cfg  Config
		want string
	}{
		"zero":                     {},
		"negative max-allocations": {cfg: Config{MaxAllocations: -1}, want: "max-allocations"},
		"negative user-quota":      {cfg: Config{UserQuota: -1}, want: "user-quota"},
		"negative max-bps":         {cfg: Config{MaxBPS: -1}, want: "max-bps"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := New(tt.cfg, t0)
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("New() error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}
