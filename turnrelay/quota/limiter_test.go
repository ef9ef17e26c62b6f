package quota

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func TestLimiter(t *testing.T) {
	l := NewLimiter(8_000_000, t0) // 1 MB/s: burst 200ms = 200 kB
	if l.Saturated(t0) {
		t.Fatal("fresh limiter saturated")
	}
	n := 0
	for range 1000 {
		if l.Allow(1000, t0) {
			n++
		}
	}
	if n < 190 || n > 210 {
		t.Errorf("allowed %d kB in an instant, want about the 200 kB burst", n)
	}
	if !l.Saturated(t0) {
		t.Error("limiter after its burst is not saturated")
	}
	var nilL *Limiter
	if !nilL.Allow(1<<16, t0) || nilL.Saturated(t0) {
		t.Error("nil limiter (no budget) limits")
	}
	if NewLimiter(0, t0) != nil || NewLimiter(-1, t0) != nil {
		t.Error("NewLimiter(<= 0) is not nil (no budget)")
	}
}

// TestLimiterRefills: after an emptied burst, the budget comes back at its
// rate, and a saturated limiter stops being saturated once time passes.
func TestLimiterRefills(t *testing.T) {
	l := NewLimiter(8_000_000, t0) // 1 MB/s
	for l.Allow(1000, t0) {
	}
	if l.Allow(1000, t0.Add(500*time.Microsecond)) {
		t.Error("Allow(1 kB) half a kB's time after the burst ran out = true")
	}
	later := t0.Add(100 * time.Millisecond) // 100 kB of budget
	n := 0
	for l.Allow(1000, later) {
		n++
	}
	if n < 99 || n > 101 {
		t.Errorf("allowed %d kB 100ms after the burst ran out, want 100", n)
	}
	if l.Saturated(later.Add(time.Second)) {
		t.Error("limiter still saturated a second after its last byte")
	}
}

func TestLimiterPassesWholeDatagramsAtLowBudgets(t *testing.T) {
	l := NewLimiter(8_000, t0) // 1 kB/s: 200ms would be 200 bytes
	if !l.Allow(1500, t0) {
		t.Error("Allow(1500) on a fresh 1 kB/s limiter = false, want a whole datagram through")
	}
}
