package probe

import "errors"

// ErrConfig wraps every Config validation failure; the wrapped errors name the
// setting and the bad value.
var ErrConfig = errors.New("probe: invalid config")

// ErrNoTargets means New was given a nil targets func.
var ErrNoTargets = errors.New("probe: targets func is nil")

// ErrRounds means Measure was asked for a number of rounds out of range.
var ErrRounds = errors.New("probe: rounds out of range")

// ErrReused means Run was called on a Prober that has already run.
var ErrReused = errors.New("probe: Run called more than once")

// ErrTarget means Measure was given a target it cannot probe: an invalid
// address or a duplicate relay ID.
var ErrTarget = errors.New("probe: invalid target")
