package quota

import (
	"errors"
	"fmt"
)

// Config bounds a relay node. The zero value is a node without limits.
type Config struct {
	MaxAllocations int   // allocations in total; 0 is no limit
	UserQuota      int   // allocations per user (credential pseudonym); 0 is no limit
	MaxBPS         int64 // relayed bits per second, both directions summed; 0 is no limit
}

// Validate reports every negative limit, named by its relaynode flag.
func (c Config) Validate() error {
	var errs []error
	if c.MaxAllocations < 0 {
		errs = append(errs, fmt.Errorf("max-allocations %d must be >= 0", c.MaxAllocations))
	}
	if c.UserQuota < 0 {
		errs = append(errs, fmt.Errorf("user-quota %d must be >= 0", c.UserQuota))
	}
	if c.MaxBPS < 0 {
		errs = append(errs, fmt.Errorf("max-bps %d must be >= 0", c.MaxBPS))
	}
	return errors.Join(errs...)
}
