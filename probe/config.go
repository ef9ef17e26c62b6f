package probe

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// Config configures a Prober (and Measure). Its zero value works.
type Config struct {
	// Interval is the time between two probes of one relay; default 5s
	// (the gateway's --probe-interval).
	Interval time.Duration
	// Timeout bounds one Binding transaction; default 1s, must be shorter
	// than Interval. A response after it counts as lost.
	Timeout time.Duration
	// Window is the number of recent probes kept per relay for loss and the
	// minimum RTT; default 20, range 1..1000.
	Window int
	// DegradedRTT marks a relay degraded when its smoothed RTT is above it;
	// default 150ms.
	DegradedRTT time.Duration
	// DegradedLoss marks a relay degraded when the lost fraction of its
	// window is above it (and at least two probes were lost); default 0.02.
	DegradedLoss float64
	// DownAfter is the number of consecutive misses that mark a relay down;
	// default 3.
	DownAfter int
	// UpAfter is the number of consecutive answers that bring a down relay
	// back; default 2.
	UpAfter int
	// Retry is how soon a relay is probed again after a miss while it is not
	// yet down, instead of waiting for its next slot; default 0 means right
	// after the timeout; negative turns fast retries off.
	Retry time.Duration
	// Sockets is the number of UDP sockets to multiplex on; they are split
	// between the address families in use, at least one per family; default
	// 2 (one for IPv4, one for IPv6), range 1..64.
	Sockets int
	// Now is the clock; default time.Now. Waiting uses the time package's
	// timers, so an injected clock must agree with them (testing/synctest's
	// fake clock does).
	Now func() time.Time
	// Listen opens one socket for network "udp4" or "udp6"; default
	// net.ListenPacket(network, ":0").
	Listen func(network string) (net.PacketConn, error)
}

// Limits on settings, chosen so that a typo cannot make the prober allocate
// or send without bound.
const (
	maxWindow  = 1000
	maxSockets = 64
	// minInterval keeps a mistaken "5" (nanoseconds) from turning the prober
	// into a packet flood.
	minInterval = time.Millisecond
)

func (c Config) withDefaults() Config {
	c.Interval = cmp.Or(c.Interval, 5*time.Second)
	c.Timeout = cmp.Or(c.Timeout, time.Second)
	c.Window = cmp.Or(c.Window, 20)
	c.DegradedRTT = cmp.Or(c.DegradedRTT, 150*time.Millisecond)
	c.DegradedLoss = cmp.Or(c.DegradedLoss, 0.02)
	c.DownAfter = cmp.Or(c.DownAfter, 3)
	c.UpAfter = cmp.Or(c.UpAfter, 2)
	c.Sockets = cmp.Or(c.Sockets, 2)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Listen == nil {
		c.Listen = func(network string) (net.PacketConn, error) {
			return (&net.ListenConfig{}).ListenPacket(context.Background(), network, ":0") // binding a socket does not wait
		}
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	if c.Interval < minInterval {
		errs = append(errs, fmt.Errorf("interval %v must be at least %v", c.Interval, minInterval))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout %v must be positive", c.Timeout))
	}
	if c.Timeout >= c.Interval {
		errs = append(errs, fmt.Errorf("timeout %v must be shorter than interval %v", c.Timeout, c.Interval))
	}
	if c.Window < 1 || c.Window > maxWindow {
		errs = append(errs, fmt.Errorf("window %d out of range 1..%d", c.Window, maxWindow))
	}
	if c.DegradedRTT < 0 {
		errs = append(errs, fmt.Errorf("degraded RTT %v must not be negative", c.DegradedRTT))
	}
	if !(c.DegradedLoss >= 0 && c.DegradedLoss <= 1) { // also rejects NaN
		errs = append(errs, fmt.Errorf("degraded loss %v out of range 0..1", c.DegradedLoss))
	}
	if c.DownAfter < 1 || c.DownAfter > c.Window {
		errs = append(errs, fmt.Errorf("down after %d out of range 1..window (%d)", c.DownAfter, c.Window))
	}
	if c.UpAfter < 1 || c.UpAfter > c.Window {
		errs = append(errs, fmt.Errorf("up after %d out of range 1..window (%d)", c.UpAfter, c.Window))
	}
	if c.Retry >= c.Interval {
		errs = append(errs, fmt.Errorf("retry %v must be shorter than interval %v", c.Retry, c.Interval))
	}
	if c.Sockets < 1 || c.Sockets > maxSockets {
		errs = append(errs, fmt.Errorf("sockets %d out of range 1..%d", c.Sockets, maxSockets))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

// perFamily is the number of sockets opened for each address family in use.
func (c Config) perFamily() int { return max(1, c.Sockets/2) }
