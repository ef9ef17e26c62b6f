package turnrelay

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/turnrelay/heartbeat"
)

func closed(c net.PacketConn) bool {
	_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
	_, _, err := c.ReadFrom(make([]byte, 1))
	return errors.Is(err, net.ErrClosed)
}

// TestRevocationsEndAllocations: a list naming a user closes every relay
// socket it holds and no other user's; a user revoked by the list cannot
// be admitted afterwards; a lapsed entry revokes nobody; a later list
// without the user takes it back.
func TestRevocationsEndAllocations(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	var r revocations
	bob1, bob2, alice := testenv.ListenUDP(t), testenv.ListenUDP(t), testenv.ListenUDP(t)
	for c, user := range map[net.PacketConn]string{bob1: "bob", bob2: "bob", alice: "alice"} {
		if !r.admit(user, c, now) {
			t.Fatalf("admit(%s) before any revocation = false", user)
		}
	}
	n := r.set(heartbeat.Revocations{Until: map[string]time.Time{"bob": now.Add(time.Hour), "carol": now.Add(-time.Second)}}, now)
	if n != 2 || !closed(bob1) || !closed(bob2) || closed(alice) {
		t.Fatalf("set(bob) ended %d; bob's sockets closed %v %v, alice's %v; want 2, true true false", n, closed(bob1), closed(bob2), closed(alice))
	}
	if !r.revoked("bob", now) || r.revoked("carol", now) || r.revoked("alice", now) {
		t.Fatal("revoked: want bob only (carol's has lapsed)")
	}
	if r.admit("bob", testenv.ListenUDP(t), now) {
		t.Fatal("admit(bob) after his revocation = true")
	}
	if r.revoked("bob", now.Add(time.Hour)) {
		t.Fatal("bob still revoked at until")
	}
	r.set(heartbeat.Revocations{}, now)
	if r.revoked("bob", now) || r.inForce(now) != 0 {
		t.Fatal("a list without bob keeps him revoked")
	}
}
