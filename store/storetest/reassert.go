package storetest

import "time"

// reassertTests cover a relay reasserting its operator drain mark
// (relay.Relay.Drained in a heartbeat): it restores the mark only where the
// store holds no fresh record of the relay, so a store that lost its data
// gets the mark back, while an operator's clearing wins over a relay that
// has not heard of it yet.
var reassertTests = []test{
	{name: "a reasserted drain mark restores one the store lost", run: func(e *env) {
		r := Fra1()
		r.Drained = true // fra-1 was drained; the store has since lost its data
		e.heartbeat(r)
		wantRelay(e.t, "Relay", e.relay("fra-1"), stamped(Fra1(), T0, true))
		if rs := e.relays(); !rs[0].Drained {
			e.t.Fatalf("Relays()[0].Drained = false after the reassertion")
		}
	}},
	{name: "clearing the mark wins over a relay that has not heard of it", run: func(e *env) {
		r := Fra1()
		e.heartbeat(r)
		e.setDrained("fra-1", true)
		e.setDrained("fra-1", false)
		r.Drained = true // the relay last heard "drained"
		e.clock.Advance(5 * time.Second)
		e.heartbeat(r)
		if e.relay("fra-1").Drained {
			e.t.Fatalf("Drained = true: a reassertion undid the operator's clearing")
		}
	}},
	{name: "a reassertion never drains a relay the store knows", run: func(e *env) {
		e.heartbeat(Fra1())
		r := Fra1()
		r.Drained = true
		e.heartbeat(r)
		if e.relay("fra-1").Drained {
			e.t.Fatalf("Drained = true after a known relay claimed a mark it was never given")
		}
	}},
	{name: "a reassertion after expiry restores the mark", run: func(e *env) {
		e.heartbeat(Fra1())
		e.clock.Advance(TTL + time.Minute)
		e.heartbeat(smallRelay("other")) // lets a store garbage-collect fra-1
		r := Fra1()
		r.Drained = true
		e.heartbeat(r)
		if !e.relay("fra-1").Drained {
			e.t.Fatalf("Drained = false after an expired relay came back reasserting its mark")
		}
	}},
	{name: "a heartbeat without the claim never clears a mark", run: func(e *env) {
		r := Fra1()
		r.Drained = true
		e.heartbeat(r)
		e.clock.Advance(5 * time.Second)
		e.heartbeat(Fra1())
		if !e.relay("fra-1").Drained {
			e.t.Fatalf("Drained = false after a heartbeat without the claim")
		}
	}},
}
