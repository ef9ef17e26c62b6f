package geoip

import "errors"

// ErrClosed means the DB was closed: Locate finds nothing, Reload and Run
// refuse to work.
var ErrClosed = errors.New("geoip: database closed")
