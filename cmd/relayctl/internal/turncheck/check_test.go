package turncheck

import (
	"testing"
	"time"
)

func TestMillis(t *testing.T) {
	for d, want := range map[time.Duration]string{
		420 * time.Microsecond:   "0.42 ms",
		9990 * time.Microsecond:  "9.99 ms",
		87340 * time.Microsecond: "87.3 ms",
		2 * time.Second:          "2000.0 ms",
	} {
		if got := Millis(d); got != want {
			t.Errorf("Millis(%v) = %q, want %q", d, got, want)
		}
	}
}
