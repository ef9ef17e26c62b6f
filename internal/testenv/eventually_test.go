package testenv

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// eventually runs Eventually with a recorder and returns its failure
// message ("" if none).
func eventually(what string, timeout, interval time.Duration, cond func() error) string {
	return record(func(t testing.TB) { Eventually(t, what, timeout, interval, cond) }).failure()
}

func TestEventually(t *testing.T) {
	t.Run("returns once cond holds", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			start, calls := time.Now(), 0
			msg := eventually("three calls", time.Second, 10*time.Millisecond, func() error {
				calls++
				if calls < 3 {
					return errors.New("not yet")
				}
				return nil
			})
			if msg != "" || calls != 3 {
				t.Errorf("Eventually failed with %q after %d calls, want success on the 3rd", msg, calls)
			}
			if got := time.Since(start); got != 20*time.Millisecond {
				t.Errorf("Eventually took %v, want 20ms (two intervals)", got)
			}
		})
	})
	t.Run("fails after the timeout with what it awaited and saw", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			start, calls := time.Now(), 0
			msg := eventually("relay registered", 100*time.Millisecond, 10*time.Millisecond, func() error {
				calls++
				return fmt.Errorf("status %d", 500+calls)
			})
			// Checked at 0, 10, ..., 100ms (not yet past the deadline) and
			// once more at 110ms, which is past it.
			if calls != 12 || time.Since(start) != 110*time.Millisecond {
				t.Errorf("cond called %d times over %v, want 12 over 110ms", calls, time.Since(start))
			}
			for _, want := range []string{"relay registered", "100ms", "status 512"} {
				if !strings.Contains(msg, want) {
					t.Errorf("failure %q lacks %q", msg, want)
				}
			}
		})
	})
	t.Run("calls cond at least once", func(t *testing.T) {
		calls := 0
		msg := eventually("anything", 0, time.Millisecond, func() error { calls++; return nil })
		if msg != "" || calls != 1 {
			t.Errorf("Eventually with no time = %q after %d calls, want success after 1", msg, calls)
		}
	})
}

func TestPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errLast := errors.New("last state")
		err := Poll(50*time.Millisecond, 20*time.Millisecond, func() error { return errLast })
		if !errors.Is(err, errLast) {
			t.Errorf("Poll = %v, want it to wrap cond's last error", err)
		}
		if err := Poll(time.Second, time.Millisecond, func() error { return nil }); err != nil {
			t.Errorf("Poll with cond holding = %v", err)
		}
	})
}
