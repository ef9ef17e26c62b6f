// Package filepoll is what geoip and staticrelay share in following a file
// an operator replaces while the gateway runs: its Config (the path and how
// often to look), the loop that looks every interval, and the memory that
// logs a persistent failure once. What a new version of the file means,
// and how it is read, stays with each owner.
package filepoll

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"
)

// Config names the followed file and how often to look at it.
type Config struct {
	Path         string        // the file; required
	PollInterval time.Duration // how often Run looks at the file; default: the owner's (WithDefault)
}

// WithDefault returns c with PollInterval set to def when it is zero.
func (c Config) WithDefault(def time.Duration) Config {
	c.PollInterval = cmp.Or(c.PollInterval, def)
	return c
}

// Validate refuses an empty path and a negative interval.
func (c Config) Validate() error {
	var errs []error
	if c.Path == "" {
		errs = append(errs, errors.New("path is empty"))
	}
	if c.PollInterval < 0 {
		errs = append(errs, fmt.Errorf("poll interval %v is negative", c.PollInterval))
	}
	return errors.Join(errs...)
}

// Run calls poll every interval (which must be positive) until ctx is
// done, then returns nil, or until poll returns an error, then returns
// that error.
func Run(ctx context.Context, interval time.Duration, poll func() error) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := poll(); err != nil {
				return err
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// Failures remembers the failure last logged, so that one that persists
// from poll to poll is logged once. The zero value is ready; it is not
// safe for concurrent use (its owner guards it).
type Failures struct {
	last string
}

// News records the outcome of one look at the file and reports whether err
// is a failure worth logging: not nil, and not the one last recorded. A
// nil err (the file read again) forgets the last failure, so that a later
// one is news again.
func (f *Failures) News(err error) bool {
	if err == nil {
		f.last = ""
		return false
	}
	msg := err.Error()
	if msg == f.last {
		return false
	}
	f.last = msg
	return true
}
