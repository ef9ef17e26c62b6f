package gateway

import "errors"

// ErrConfig wraps every Config validation failure; the wrapped errors name
// the setting and the bad value.
var ErrConfig = errors.New("gateway: invalid config")

// ErrDeps means New lacks a required dependency; the wrapping error names it.
var ErrDeps = errors.New("gateway: missing dependency")

// ErrReused means Run was called on a Gateway that has already run.
var ErrReused = errors.New("gateway: Run called more than once")
