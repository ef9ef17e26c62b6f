package coturntest_test

import (
	"testing"

	"github.com/relaygate/relaygate/internal/testenv/coturntest"
)

// TestStartAnswersSTUN: Start returns a turnserver that answers STUN (it
// returns only then) and is still running.
func TestStartAnswersSTUN(t *testing.T) {
	s := coturntest.Start(t, "coturntest-secret-0123456789", "coturntest")
	if s.Proc.Exited() {
		t.Fatalf("turnserver on %s exited after answering", s.Addr)
	}
}
