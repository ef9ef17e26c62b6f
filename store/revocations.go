package store

import (
	"context"
	"fmt"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// Revocations are the operator's revocations of user-token subjects,
// shared by every gateway replica on the same backend. A revocation lapses
// by itself at its Until, judged by the store's clock (a stored timestamp,
// never Redis EXPIRE). Memory and Redis implement it; implementations are
// safe for concurrent use.
type Revocations interface {
	// Revoke records rev, replacing any revocation of the same subject,
	// stamps rev.At with the store's clock, and changes the version. An
	// empty subject or pseudonym, a subject longer than MaxSubjectLen, or
	// an Until not after the store's clock give ErrInvalid.
	Revoke(ctx context.Context, rev relay.Revocation) error

	// Unrevoke lifts subject's revocation and changes the version. With
	// none in force it returns ErrNotRevoked.
	Unrevoke(ctx context.Context, subject string) error

	// Revocations returns the revocations in force at the store's clock,
	// sorted by subject, and the version as of the read. Lapsed ones are
	// left out, and collected.
	Revocations(ctx context.Context) (revs []relay.Revocation, version uint64, err error)

	// RevocationsVersion is the version: it changes with every Revoke and
	// Unrevoke (a lapse does not change it: readers judge Until
	// themselves). A copy kept by a reader is current while the version
	// is the one it read with; any other value, lower ones included (a
	// backend that lost its data), means read again. One cheap read.
	RevocationsVersion(ctx context.Context) (uint64, error)
}

// MaxSubjectLen bounds a revoked subject: a JWT's sub is a short
// identifier, and the bound keeps hostile input cheap.
const MaxSubjectLen = 256

// checkRevocation rejects what no store keeps, judged at the store's now.
func checkRevocation(rev relay.Revocation, now func() time.Time) error {
	switch {
	case rev.Subject == "" || len(rev.Subject) > MaxSubjectLen:
		return fmt.Errorf("revoke: subject must be 1-%d bytes: %w", MaxSubjectLen, ErrInvalid)
	case rev.Pseudonym == "":
		return fmt.Errorf("revoke: empty pseudonym: %w", ErrInvalid)
	case !rev.InForce(now()):
		return fmt.Errorf("revoke: until is not in the future: %w", ErrInvalid)
	}
	return nil
}
