package staticrelay

import (
	"cmp"
	"errors"
	"fmt"
	"time"
)

// Config configures a Watcher.
type Config struct {
	Path string // the YAML file; required
	// PollInterval is how often Run reads the file again to see whether it
	// changed; default 5s. The file is small (MaxFileSize at most), so a
	// read per interval costs nothing worth saving.
	PollInterval time.Duration
}

func (c Config) withDefaults() Config {
	c.PollInterval = cmp.Or(c.PollInterval, 5*time.Second)
	return c
}

func (c Config) validate() error {
	var errs []error
	if c.Path == "" {
		errs = append(errs, errors.New("path is empty"))
	}
	if c.PollInterval < 0 {
		errs = append(errs, fmt.Errorf("poll interval %v is negative", c.PollInterval))
	}
	return errors.Join(errs...)
}
