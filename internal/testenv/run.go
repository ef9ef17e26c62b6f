package testenv

import (
	"context"
	"testing"
	"time"
)

// RunUntilCleanup runs run (a Run method: long-lived work that returns nil
// once its ctx is done) in a goroutine until the test ends, then cancels
// its ctx, waits for it, and fails the test unless it returned nil.
func RunUntilCleanup(tb testing.TB, name string, run func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("%s = %v, want nil once ctx ends", name, err)
		}
	})
}

// WaitDone waits up to timeout for the result of what (say "run()", a func
// whose ctx the test cancelled) on done, and fails t with t.Errorf unless
// it is nil, or when it does not come in time. It does not stop the test,
// so it serves in Cleanup too.
func WaitDone(t testing.TB, what string, done <-chan error, timeout time.Duration) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("%s = %v, want nil once its ctx is done", what, err)
		}
	case <-time.After(timeout):
		t.Errorf("%s did not return within %v of its ctx ending", what, timeout)
	}
}
