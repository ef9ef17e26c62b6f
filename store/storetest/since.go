package storetest

import (
	"slices"
	"strings"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// since calls RelaysSince and returns the relays sorted by ID and the next
// cursor, which must not go backwards.
func (e *env) since(cursor uint64) ([]relay.Relay, uint64) {
	e.t.Helper()
	rs, next, err := e.s.RelaysSince(e.t.Context(), cursor)
	if err != nil {
		e.t.Fatalf("RelaysSince(%d) error = %v", cursor, err)
	}
	if next < cursor {
		e.t.Fatalf("RelaysSince(%d) next = %d, want at least the cursor", cursor, next)
	}
	slices.SortFunc(rs, func(a, b relay.Relay) int { return strings.Compare(a.ID, b.ID) })
	return rs, next
}

// sinceIDs is since, checking the IDs it returns.
func (e *env) sinceIDs(cursor uint64, want ...string) ([]relay.Relay, uint64) {
	e.t.Helper()
	rs, next := e.since(cursor)
	got := make([]string, len(rs))
	for i := range rs {
		got[i] = rs[i].ID
	}
	if !slices.Equal(got, want) {
		e.t.Fatalf("RelaysSince(%d) IDs = %q, want %q", cursor, got, want)
	}
	return rs, next
}

var sinceTests = []test{
	{name: "relays since cursor 0 returns every relay", run: func(e *env) {
		_, c := e.sinceIDs(0)
		e.heartbeat(Fra1())
		e.heartbeat(smallRelay("ams-1"))
		e.setDrained("ams-1", true)
		rs, next := e.sinceIDs(0, "ams-1", "fra-1")
		if next <= c {
			e.t.Fatalf("cursor after writes = %d, want past %d", next, c)
		}
		wantRelay(e.t, "RelaysSince(0)[0]", rs[0], stamped(smallRelay("ams-1"), T0, true))
		wantRelay(e.t, "RelaysSince(0)[1]", rs[1], stamped(Fra1(), T0, false))
	}},
	{name: "relays since returns only what changed and advances", run: func(e *env) {
		for _, id := range []string{"a", "b", "c", "d"} {
			e.heartbeat(smallRelay(id))
		}
		_, c := e.sinceIDs(0, "a", "b", "c", "d")
		_, c2 := e.sinceIDs(c)
		if c2 != c {
			e.t.Fatalf("cursor moved from %d to %d without a write", c, c2)
		}

		e.clock.Advance(time.Second)
		e.heartbeat(smallRelay("b"))
		rs, c3 := e.sinceIDs(c, "b")
		if c3 <= c {
			e.t.Fatalf("cursor after a heartbeat = %d, want past %d", c3, c)
		}
		wantRelay(e.t, "after a heartbeat", rs[0], stamped(smallRelay("b"), T0.Add(time.Second), false))

		e.setDrained("c", true)
		rs, c4 := e.sinceIDs(c3, "c")
		if c4 <= c3 || !rs[0].Drained {
			e.t.Fatalf("after a drain mark: cursor %d (was %d), Drained %v; want it past and true", c4, c3, rs[0].Drained)
		}

		p := upProbe(T0)
		e.recordProbes(map[string]relay.Probe{"d": p})
		rs, c5 := e.sinceIDs(c4, "d")
		if c5 <= c4 || rs[0].Probe.Health != relay.HealthUp || !rs[0].Probe.ProbedAt.Equal(p.ProbedAt) {
			e.t.Fatalf("after a probe: cursor %d (was %d), Probe %+v; want it past and %+v", c5, c4, rs[0].Probe, p)
		}

		e.setDrained("c", false)
		e.heartbeat(smallRelay("a"))
		rs, c6 := e.sinceIDs(c5, "a", "c")
		if c6 <= c5 || rs[1].Drained {
			e.t.Fatalf("after clearing a drain mark: cursor %d (was %d), Drained %v", c6, c5, rs[1].Drained)
		}
		e.sinceIDs(c6)
		e.sinceIDs(c3, "a", "c", "d") // an older cursor sees everything since
	}},
	{name: "relays since returns expired relays with their expiry", run: func(e *env) {
		e.heartbeat(smallRelay("old"))
		_, c := e.sinceIDs(0, "old")
		e.setDrained("old", true)
		e.clock.Advance(TTL) // expired, but changed after c
		rs, _ := e.sinceIDs(c, "old")
		if got, want := rs[0].ExpiresAt, T0.Add(TTL); !got.Equal(want) || rs[0].Fresh(e.clock.Now()) {
			e.t.Fatalf("expired relay's ExpiresAt = %v, want %v (in the past)", got, want)
		}
		e.wantIDs()
	}},
	{name: "relays since ignores probes of unknown relays", run: func(e *env) {
		e.heartbeat(smallRelay("a"))
		_, c := e.sinceIDs(0, "a")
		e.recordProbes(map[string]relay.Probe{"ghost": upProbe(T0)})
		e.sinceIDs(c)
	}},
}
