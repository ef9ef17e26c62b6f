package quota

import "errors"

// Refusals of Ledger.Reserve, one per kind of exhausted capacity.
var (
	ErrDraining  = errors.New("quota: draining, no new allocations")
	ErrFull      = errors.New("quota: max allocations reached")
	ErrBandwidth = errors.New("quota: bandwidth budget exhausted")
	ErrUserQuota = errors.New("quota: user quota reached")
)
