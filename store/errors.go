package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// NotFoundError means no fresh relay has the ID. Its message carries the ID,
// which is the relay's, never a client's.
type NotFoundError struct{ ID string }

// Error names the relay that was not found.
func (e *NotFoundError) Error() string { return fmt.Sprintf("store: relay %q not found", e.ID) }

// NotFound marks the error as "no such thing", which api maps to 404
// without importing this package.
func (e *NotFoundError) NotFound() bool { return true }

// IsNotFound reports whether err (or anything it wraps) is a NotFoundError.
func IsNotFound(err error) bool {
	var nf *NotFoundError
	return errors.As(err, &nf)
}

// ErrInvalid means a caller passed something the store cannot keep: an empty
// relay ID, a heartbeat TTL that is not positive, a probe without its time,
// or measurements for something other than a client prefix (or too many).
var ErrInvalid = errors.New("store: invalid argument")

// ErrClosed means the store was used after Close.
var ErrClosed = errors.New("store: closed")

// UnavailableError means the backend did not answer: unreachable, timed
// out, loading its data or failing over. Nothing is wrong with the call,
// which may succeed once the backend is back.
type UnavailableError struct{ Err error }

// Error says the backend is unavailable and why.
func (e *UnavailableError) Error() string { return "store: backend unavailable: " + e.Err.Error() }

// Unwrap returns the backend's error.
func (e *UnavailableError) Unwrap() error { return e.Err }

// Unavailable marks the error as "try again later", which api maps to 503
// with Retry-After without importing this package.
func (e *UnavailableError) Unavailable() bool { return true }

// redisUnavailable reports whether a go-redis error means Redis did not
// answer rather than refused the command: anything that is not a reply
// from Redis (dial, I/O and pool errors, timeouts, our own deadline), and
// the replies of a server that is loading, read-only, failing over or full
// of clients. A cancelled context is the caller leaving, not an outage.
func redisUnavailable(err error) bool {
	var reply redis.Error
	switch {
	case errors.Is(err, context.Canceled):
		return false
	case !errors.As(err, &reply):
		return true
	}
	return redis.IsLoadingError(err) || redis.IsReadOnlyError(err) || redis.IsMasterDownError(err) ||
		redis.IsClusterDownError(err) || redis.IsTryAgainError(err) || redis.IsMaxClientsError(err)
}

// errIDMismatch is a RecordError's cause when a record names another relay
// than the key it is stored under.
var errIDMismatch = errors.New("record id does not match its key")

// ErrConfig means a MemoryConfig or RedisConfig was rejected; the wrapping
// error names the setting. It never carries a password or the Redis URL.
var ErrConfig = errors.New("store: invalid config")

// RecordError means a record read from the backend could not be decoded, for
// instance one written by a newer gateway in a format version this one does
// not know. Writers must not switch versions before every reader knows them.
type RecordError struct {
	ID      string // relay ID whose record is bad
	Version int    // the record's "v"; 0 when it could not be parsed at all
	Err     error  // the decoding error, if any
}

// Error names the relay and what is wrong with its record.
func (e *RecordError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("store: relay %q: bad record: %v", e.ID, e.Err)
	}
	return fmt.Sprintf("store: relay %q: unsupported record version %d", e.ID, e.Version)
}

// Unwrap returns the decoding error, nil for an unknown version.
func (e *RecordError) Unwrap() error { return e.Err }

// errSealed means a measured prefix stored in Redis cannot be read back: it
// does not open with this store's privacy key (gateways sharing a Redis and
// key prefix must share the key too), or its record is in a format this
// gateway does not know. The message never repeats what was stored.
var errSealed = errors.New("store: a measured prefix's record does not open with this store's privacy key and format")

// ErrNotRevoked means a subject has no revocation in force. It satisfies
// NotFound() bool, so api answers 404 without importing this package. It
// never names the subject: that is a user.
var ErrNotRevoked error = notRevokedError{}

type notRevokedError struct{}

func (notRevokedError) Error() string  { return "store: subject not revoked" }
func (notRevokedError) NotFound() bool { return true }
