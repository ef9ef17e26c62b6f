package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// UsageRetention is how long usage hours are kept: a month of billing and
// a few days to look into it.
const UsageRetention = 35 * 24 * time.Hour

// MaxUsagePseudonyms bounds the pseudonyms one UsageOf sums: one user's
// under the gateway's current and previous pseudonym keys.
const MaxUsagePseudonyms = 8

// maxUsageBytes bounds one entry's byte counts, so that sums stay exact in
// Redis' signed 64-bit integers (and in a JSON number).
const maxUsageBytes = 1 << 53

// Usage keeps what relays report of their users' usage (package relay's
// Usage, per pseudonym) in hourly buckets, per pseudonym and per relay,
// for UsageRetention. Pseudonyms are the gateway's keyed hashes of token
// subjects; the store names none in an error. Implementations are safe for
// concurrent use.
type Usage interface {
	// AddUsage counts relay relayID's report in the hour of the store's
	// clock. It is idempotent: a report is counted once per (relayID,
	// rep.Epoch, rep.Seq), and so is each of its entries, so a report sent
	// again after an error (even one that counted some entries) is
	// counted once in all, and a report whose Seq is at or below the last
	// counted in its relay's Epoch is ignored. An empty relay ID or
	// epoch, Seq 0, a pseudonym that no TURN username can carry, a
	// duplicate pseudonym, byte counts over 2^53 or a negative allocation
	// time give ErrInvalid.
	AddUsage(ctx context.Context, relayID string, rep relay.UsageReport) error

	// UsageOf returns the usage of the pseudonyms, summed (one user's
	// under several pseudonym keys), per hour in [from, to) with any,
	// oldest first. Hours are whole: from is rounded down, to up. Hours
	// older than UsageRetention are gone. No pseudonym, more than
	// MaxUsagePseudonyms or an empty range give ErrInvalid.
	UsageOf(ctx context.Context, pseudonyms []string, from, to time.Time) ([]relay.UsagePeriod, error)

	// RelayUsage returns each relay's usage in [from, to) (whole hours,
	// as UsageOf), relays with none left out, sorted by ID.
	RelayUsage(ctx context.Context, from, to time.Time) ([]relay.UsageOnRelay, error)
}

// checkUsageReport rejects what no store can count.
func checkUsageReport(relayID string, rep relay.UsageReport) error {
	if relayID == "" || rep.Epoch == "" || rep.Seq == 0 {
		return fmt.Errorf("usage report needs a relay id, an epoch and a seq: %w", ErrInvalid)
	}
	seen := make(map[string]bool, len(rep.Entries))
	for _, e := range rep.Entries {
		if !relay.ValidPseudonym(e.Pseudonym) || seen[e.Pseudonym] {
			return fmt.Errorf("usage report of %q: invalid or duplicate pseudonym: %w", relayID, ErrInvalid)
		}
		seen[e.Pseudonym] = true
		if e.BytesToPeer > maxUsageBytes || e.BytesFromPeer > maxUsageBytes || e.AllocationTime < 0 {
			return fmt.Errorf("usage report of %q: counts out of range: %w", relayID, ErrInvalid)
		}
	}
	return nil
}

// checkPseudonyms rejects the pseudonyms of a usage query that no store
// can answer: none, too many, or an invalid one.
func checkPseudonyms(pseudonyms []string) error {
	if len(pseudonyms) == 0 || len(pseudonyms) > MaxUsagePseudonyms {
		return fmt.Errorf("usage of %d pseudonyms, want 1 to %d: %w", len(pseudonyms), MaxUsagePseudonyms, ErrInvalid)
	}
	for _, p := range pseudonyms {
		if !relay.ValidPseudonym(p) {
			return fmt.Errorf("usage of an invalid pseudonym: %w", ErrInvalid)
		}
	}
	return nil
}

// usageWindow gives a usage query's hours [first, end) as Unix hour
// numbers, clamped to what is retained at now: end <= first when none is;
// ErrInvalid for an empty range.
func usageWindow(from, to, now time.Time) (first, end int64, err error) {
	first = floorHour(from)
	end = floorHour(to)
	if !to.Equal(time.Unix(end*3600, 0)) {
		end++
	}
	if end <= first {
		return 0, 0, fmt.Errorf("usage range is empty: %w", ErrInvalid)
	}
	nowHour := floorHour(now)
	return max(first, nowHour-retainedHours), min(end, nowHour+1), nil
}

// sums sums usage by a key: the hour for UsageOf, the relay for
// RelayUsage.
type sums[K comparable] map[K]relay.Usage

func (s sums[K]) add(k K, u relay.Usage) {
	v := s[k]
	v.Add(u)
	s[k] = v
}

// periods are hourly sums, oldest first.
func periods(s sums[int64]) []relay.UsagePeriod {
	out := make([]relay.UsagePeriod, 0, len(s))
	for h, u := range s {
		out = append(out, relay.UsagePeriod{Start: hourStart(h), Usage: u})
	}
	slices.SortFunc(out, func(a, b relay.UsagePeriod) int { return a.Start.Compare(b.Start) })
	return out
}

// relays are the per-relay sums with any usage, by ID.
func relays(s sums[string]) []relay.UsageOnRelay {
	out := make([]relay.UsageOnRelay, 0, len(s))
	for id, u := range s {
		if !u.IsZero() {
			out = append(out, relay.UsageOnRelay{RelayID: id, Usage: u})
		}
	}
	slices.SortFunc(out, func(a, b relay.UsageOnRelay) int { return cmp.Compare(a.RelayID, b.RelayID) })
	return out
}

// floorHour is t's hour as hours since the Unix epoch.
func floorHour(t time.Time) int64 { return floorDiv(t.Unix(), 3600) }

// floorDiv is a/b rounded down (Go's / rounds toward zero), for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

// hourStart is hour h's start, in UTC.
func hourStart(h int64) time.Time { return time.Unix(h*3600, 0).UTC() }

// sumEntries is what the report's entries add up to.
func sumEntries(rep relay.UsageReport) relay.Usage {
	var u relay.Usage
	for _, e := range rep.Entries {
		u.Add(e.Usage)
	}
	return u
}

// reportMark is the last report counted for one relay (and pseudonym):
// a report of the same epoch with a Seq at or below it is not counted again.
type reportMark struct {
	epoch string
	seq   uint64
}

// covers reports whether a report (epoch, seq) was already counted.
func (m reportMark) covers(epoch string, seq uint64) bool { return m.epoch == epoch && m.seq >= seq }
