package storetest

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store"
)

// revocations is the store under test as store.Revocations: every store
// keeps them.
func (e *env) revocations() store.Revocations {
	e.t.Helper()
	r, ok := e.s.(store.Revocations)
	if !ok {
		e.t.Fatalf("%T does not implement store.Revocations", e.s)
	}
	return r
}

func (e *env) revoke(subject string, d time.Duration) relay.Revocation {
	e.t.Helper()
	rev := relay.Revocation{Subject: subject, Pseudonym: "p-" + subject, Until: e.clock.Now().Add(d)}
	if err := e.revocations().Revoke(e.t.Context(), rev); err != nil {
		e.t.Fatalf("Revoke(%q) error = %v", subject, err)
	}
	rev.At = e.clock.Now()
	return rev
}

// wantRevocations fails unless the store's revocations are want, in
// order, times compared with Equal; it returns the version read.
func (e *env) wantRevocations(want ...relay.Revocation) uint64 {
	e.t.Helper()
	got, v, err := e.revocations().Revocations(e.t.Context())
	if err != nil {
		e.t.Fatalf("Revocations() error = %v", err)
	}
	same := func(a, b relay.Revocation) bool {
		return a.Subject == b.Subject && a.Pseudonym == b.Pseudonym && a.Until.Equal(b.Until) && a.At.Equal(b.At)
	}
	if !slices.EqualFunc(got, want, same) {
		e.t.Fatalf("Revocations() = %+v, want %+v", got, want)
	}
	return v
}

func (e *env) revocationsVersion() uint64 {
	e.t.Helper()
	v, err := e.revocations().RevocationsVersion(e.t.Context())
	if err != nil {
		e.t.Fatalf("RevocationsVersion() error = %v", err)
	}
	return v
}

var revocationTests = []test{
	{name: "revocations read back sorted by subject", run: func(e *env) {
		if v := e.wantRevocations(); v != e.revocationsVersion() {
			e.t.Fatalf("empty store: Revocations version %d != RevocationsVersion %d", v, e.revocationsVersion())
		}
		bob := e.revoke("bob", time.Hour)
		e.clock.Advance(time.Second)
		alice := e.revoke("alice@example.com", 2*time.Hour)
		v := e.wantRevocations(alice, bob)
		if got := e.revocationsVersion(); got != v {
			e.t.Fatalf("RevocationsVersion() = %d, want %d as Revocations read it", got, v)
		}
	}},
	{name: "every write changes the version", run: func(e *env) {
		v0 := e.revocationsVersion()
		e.revoke("bob", time.Hour)
		v1 := e.revocationsVersion()
		e.revoke("bob", 2*time.Hour) // replaces
		v2 := e.revocationsVersion()
		if err := e.revocations().Unrevoke(e.t.Context(), "bob"); err != nil {
			e.t.Fatalf("Unrevoke() error = %v", err)
		}
		v3 := e.revocationsVersion()
		if v0 == v1 || v1 == v2 || v2 == v3 || v0 == v2 || v1 == v3 {
			e.t.Fatalf("versions across revoke, re-revoke, unrevoke = %d, %d, %d, %d; want each write to change it", v0, v1, v2, v3)
		}
		e.wantRevocations()
	}},
	{name: "a revocation replaces the subject's earlier one", run: func(e *env) {
		e.revoke("bob", time.Hour)
		e.clock.Advance(time.Minute)
		later := e.revoke("bob", 3*time.Hour)
		e.wantRevocations(later)
	}},
	{name: "a lapsed revocation disappears", run: func(e *env) {
		e.revoke("bob", time.Minute)
		keep := e.revoke("carol", time.Hour)
		v := e.revocationsVersion()
		e.clock.Advance(time.Minute) // bob's until: no longer in force
		e.wantRevocations(keep)
		if got := e.revocationsVersion(); got != v {
			e.t.Fatalf("RevocationsVersion() after a lapse = %d, want %d (readers judge Until)", got, v)
		}
		if err := e.revocations().Unrevoke(e.t.Context(), "bob"); !errors.Is(err, store.ErrNotRevoked) {
			e.t.Fatalf("Unrevoke(lapsed) error = %v, want ErrNotRevoked", err)
		}
	}},
	{name: "lifting no revocation is not found", run: func(e *env) {
		err := e.revocations().Unrevoke(e.t.Context(), "nobody")
		var nf interface{ NotFound() bool }
		if !errors.Is(err, store.ErrNotRevoked) || !errors.As(err, &nf) || !nf.NotFound() {
			e.t.Fatalf("Unrevoke(nobody) error = %v, want ErrNotRevoked satisfying NotFound() bool", err)
		}
		if strings.Contains(err.Error(), "nobody") {
			e.t.Fatalf("Unrevoke error %q names the subject", err)
		}
	}},
	{name: "revoke refuses what no store keeps", run: func(e *env) {
		now := e.clock.Now()
		for _, rev := range []relay.Revocation{
			{Subject: "", Pseudonym: "p", Until: now.Add(time.Hour)},
			{Subject: strings.Repeat("s", store.MaxSubjectLen+1), Pseudonym: "p", Until: now.Add(time.Hour)},
			{Subject: "bob", Pseudonym: "", Until: now.Add(time.Hour)},
			{Subject: "bob", Pseudonym: "p", Until: now},
			{Subject: "bob", Pseudonym: "p", Until: now.Add(-time.Hour)},
		} {
			if err := e.revocations().Revoke(e.t.Context(), rev); !errors.Is(err, store.ErrInvalid) {
				e.t.Errorf("Revoke(subject %d bytes, pseudonym %q, until now%+v) error = %v, want ErrInvalid",
					len(rev.Subject), rev.Pseudonym, rev.Until.Sub(now), err)
			}
		}
		e.wantRevocations()
	}},
}
