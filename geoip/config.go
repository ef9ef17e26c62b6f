package geoip

import (
	"cmp"
	"errors"
	"fmt"
	"time"
)

// Config configures a DB.
type Config struct {
	Path         string        // the mmdb file (GeoIP2/GeoLite2 City layout); required
	PollInterval time.Duration // how often Run checks whether the file was replaced; default 10s
}

func (c Config) withDefaults() Config {
	c.PollInterval = cmp.Or(c.PollInterval, 10*time.Second)
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
