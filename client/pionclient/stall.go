package pionclient

import "time"

// action is what the detector tells the Watcher to do after a reading.
type action int

const (
	actNone      action = iota
	actStalled          // the call stalled: restart ICE
	actRetry            // a restart did not recover the call in time: restart again
	actRecovered        // the call progresses again after a restart
)

// detector decides from successive readings of a call (bytes received so
// far, the ICE state) when it stalled and when it recovered. It does no
// I/O and reads no clock: the Watcher hands it the time.
type detector struct {
	stall          time.Duration // no progress this long is a stall
	restartTimeout time.Duration // a restart not recovered by then may be retried
	iceOnly        bool          // only a bad ICE state stalls

	last         uint64    // bytes at the last reading
	active       bool      // the call progressed (or connected, iceOnly) since it began
	lastProgress time.Time // when it last did
	badSince     time.Time // when ICE went disconnected or failed; zero while it is not
	stalled      bool      // stalled, not recovered yet
	since        time.Time // lastProgress when it stalled
	restartedAt  time.Time // when the last restart began
}

// observe takes one reading at now: received bytes so far, whether ICE is
// connected, and whether it is disconnected or failed. It returns what to
// do, with how long the call had made no progress (for actStalled) or the
// gap it recovered from (for actRecovered).
func (d *detector) observe(now time.Time, received uint64, connected, bad bool) (action, time.Duration) {
	switch {
	case !bad:
		d.badSince = time.Time{}
	case d.badSince.IsZero():
		d.badSince = now
	}
	grew := received > d.last
	d.last = received
	if (grew && !d.iceOnly) || (connected && d.iceOnly) {
		d.active = true
		d.lastProgress = now
		if d.stalled {
			d.stalled = false
			return actRecovered, now.Sub(d.since)
		}
		return actNone, 0
	}
	if !d.active {
		return actNone, 0
	}
	if d.stalled {
		if now.Sub(d.restartedAt) > d.restartTimeout {
			d.restartedAt = now
			return actRetry, now.Sub(d.since)
		}
		return actNone, 0
	}
	quiet := !d.iceOnly && now.Sub(d.lastProgress) >= d.stall
	lost := !d.badSince.IsZero() && now.Sub(d.badSince) >= d.stall
	if !quiet && !lost {
		return actNone, 0
	}
	d.stalled, d.since, d.restartedAt = true, d.lastProgress, now
	return actStalled, now.Sub(d.lastProgress)
}
