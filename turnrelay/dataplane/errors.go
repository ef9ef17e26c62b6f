package dataplane

import "errors"

// ErrNoPort is returned when no relay port of the range could be bound.
var ErrNoPort = errors.New("dataplane: no free relay port")
