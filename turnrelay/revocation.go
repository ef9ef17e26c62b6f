package turnrelay

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relaygate/relaygate/turnrelay/heartbeat"
)

// revocations are the users the gateway revoked, as its last heartbeat
// answer listed them, and the live allocations of every user, so that a
// revocation ends them: closing an allocation's relay socket makes pion
// delete the allocation (its read loop ends), which releases its quota and
// takes it out of the fast path. Refreshes, permissions and channel binds
// of a revoked user are refused by authenticate.
type revocations struct {
	until atomic.Pointer[map[string]time.Time] // by pseudonym; replaced whole
	ended atomic.Uint64                        // allocations ended by a revocation

	mu     sync.Mutex // guards below
	byUser map[string]map[net.PacketConn]struct{}
}

// revoked reports whether user (a pseudonym) is revoked at now: one
// atomic load and a map read, on every authenticated TURN request.
func (r *revocations) revoked(user string, now time.Time) bool {
	m := r.until.Load()
	if m == nil {
		return false
	}
	until, ok := (*m)[user]
	return ok && now.Before(until)
}

// inForce counts the revocations in force at now.
func (r *revocations) inForce(now time.Time) int {
	m := r.until.Load()
	if m == nil {
		return 0
	}
	n := 0
	for _, until := range *m {
		if now.Before(until) {
			n++
		}
	}
	return n
}

// track notes conn as an allocation of user until untrack.
func (r *revocations) track(user string, conn net.PacketConn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byUser == nil {
		r.byUser = make(map[string]map[net.PacketConn]struct{})
	}
	conns := r.byUser[user]
	if conns == nil {
		conns = make(map[net.PacketConn]struct{}, 1)
		r.byUser[user] = conns
	}
	conns[conn] = struct{}{}
}

func (r *revocations) untrack(user string, conn net.PacketConn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.byUser[user], conn)
	if len(r.byUser[user]) == 0 {
		delete(r.byUser, user)
	}
}

// set replaces the revocations with revs and ends the allocations of every
// user revoked at now, and returns how many it ended. An allocation being
// created meanwhile checks the new list once tracked (admit), so none
// escapes.
func (r *revocations) set(revs heartbeat.Revocations, now time.Time) int {
	until := revs.Until
	if until == nil {
		until = map[string]time.Time{}
	}
	r.until.Store(&until)
	var doomed []net.PacketConn
	r.mu.Lock()
	for user, conns := range r.byUser {
		if u, ok := until[user]; ok && now.Before(u) {
			for c := range conns {
				doomed = append(doomed, c)
			}
		}
	}
	r.mu.Unlock()
	for _, c := range doomed {
		_ = c.Close() // untracks it, through its release
		r.ended.Add(1)
	}
	return len(doomed)
}

// admit tracks conn as user's and reports whether user may hold it: a user
// revoked at now may not, and the caller closes conn.
func (r *revocations) admit(user string, conn net.PacketConn, now time.Time) bool {
	r.track(user, conn)
	return !r.revoked(user, now)
}
