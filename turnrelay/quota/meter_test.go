package quota

import (
	"testing"
	"time"
)

func TestMeter(t *testing.T) {
	var m Meter
	steps := []struct {
		total uint64
		at    time.Duration
		want  int64
	}{
		{total: 5000, at: 0, want: 0},                    // first reading: no interval yet
		{total: 6000, at: time.Second, want: 8000},       // 1000 bytes in 1s
		{total: 16000, at: 3 * time.Second, want: 40000}, // 10000 bytes in 2s
		{total: 16000, at: 3 * time.Second, want: 0},     // no time passed
		{total: 16000, at: 8 * time.Second, want: 0},     // idle
		{total: 18500, at: 8500 * time.Millisecond, want: 40000},
	}
	for i, s := range steps {
		if got := m.BPS(s.total, t0.Add(s.at)); got != s.want {
			t.Errorf("step %d: BPS(%d, +%v) = %d, want %d", i, s.total, s.at, got, s.want)
		}
	}
}
