package store

import (
	"errors"
	"fmt"
)

// NotFoundError means no fresh relay has the ID. Its message carries the ID,
// which is the relay's, never a client's.
type NotFoundError struct{ ID string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("store: relay %q not found", e.ID) }

// NotFound marks the error as "no such thing", which api maps to 404
// without importing this package.
func (e *NotFoundError) NotFound() bool { return true }

// IsNotFound reports whether err (or anything it wraps) is a NotFoundError.
func IsNotFound(err error) bool {
	var nf *NotFoundError
	return errors.As(err, &nf)
}
