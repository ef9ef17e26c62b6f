package wire

import (
	"fmt"
	"math"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/relaygate/relaygate/relay"
)

// MaxUsageEntries bounds the pseudonyms in one heartbeat's usage report:
// 256 entries of ~120 bytes keep a heartbeat far inside the gateway's
// 64 KiB body limit; a relay with more waiting sends the rest next time.
const MaxUsageEntries = 256

// maxAllocationSeconds bounds one entry's allocation time: a relay's
// largest allocation count (1e6) times a day is under 1e11 seconds.
const maxAllocationSeconds = 1e11

// maxUsageBytes bounds an entry's byte counts: exact in a JSON number and
// in the store's sums.
const maxUsageBytes = 1 << 53

// UsageReport is openapi.yaml's UsageReport, Heartbeat.usage: what a relay
// carried per pseudonym since its previous acknowledged report. The
// gateway counts a report once per (epoch, seq) and acknowledges it in
// HeartbeatAck.usage_ack; a relay resends it unchanged until then.
type UsageReport struct {
	Epoch   string       `json:"epoch"` // the relay process's random name, 1-64 of A-Z a-z 0-9 '-' '_'
	Seq     uint64       `json:"seq"`   // 1, 2, ... within epoch
	Entries []UsageEntry `json:"entries"`
}

// UsageEntry is openapi.yaml's UsageEntry: one pseudonym's usage in a
// report.
type UsageEntry struct {
	Pseudonym         string  `json:"pseudonym"`
	BytesToPeer       uint64  `json:"bytes_to_peer"`
	BytesFromPeer     uint64  `json:"bytes_from_peer"`
	AllocationSeconds float64 `json:"allocation_seconds"`
}

// NewUsageReport is r as a heartbeat carries it.
func NewUsageReport(r relay.UsageReport) UsageReport {
	out := UsageReport{Epoch: r.Epoch, Seq: r.Seq, Entries: make([]UsageEntry, len(r.Entries))}
	for i, e := range r.Entries {
		out.Entries[i] = UsageEntry{Pseudonym: e.Pseudonym, BytesToPeer: e.BytesToPeer, BytesFromPeer: e.BytesFromPeer,
			AllocationSeconds: seconds(e.AllocationTime)}
	}
	return out
}

// Relay is the report a valid UsageReport (one validate accepts) carries.
func (u UsageReport) Relay() relay.UsageReport {
	out := relay.UsageReport{Epoch: u.Epoch, Seq: u.Seq, Entries: make([]relay.UsageEntry, len(u.Entries))}
	for i, e := range u.Entries {
		out.Entries[i] = relay.UsageEntry{Pseudonym: e.Pseudonym, Usage: relay.Usage{
			BytesToPeer: e.BytesToPeer, BytesFromPeer: e.BytesFromPeer, AllocationTime: fromSeconds(e.AllocationSeconds)}}
	}
	return out
}

// validate appends the report's invalid fields, named under field.
func (u UsageReport) validate(field string, add func(field, msg string)) {
	if !validEpoch(u.Epoch) {
		add(field+".epoch", "required: 1-64 letters, digits, '-' or '_'")
	}
	if u.Seq < 1 {
		add(field+".seq", "required: >= 1")
	}
	if len(u.Entries) > MaxUsageEntries {
		add(field+".entries", fmt.Sprintf("at most %d entries", MaxUsageEntries))
		return
	}
	seen := make(map[string]bool, len(u.Entries))
	for i, e := range u.Entries {
		f := fmt.Sprintf("%s.entries[%d]", field, i)
		switch {
		case !relay.ValidPseudonym(e.Pseudonym):
			add(f+".pseudonym", "required: 1-256 printable ASCII characters other than ':'")
		case seen[e.Pseudonym]:
			add(f+".pseudonym", "duplicate pseudonym")
		}
		seen[e.Pseudonym] = true
		if e.BytesToPeer > maxUsageBytes || e.BytesFromPeer > maxUsageBytes {
			add(f, "bytes_to_peer and bytes_from_peer are at most 2^53")
		}
		if math.IsNaN(e.AllocationSeconds) || e.AllocationSeconds < 0 || e.AllocationSeconds > maxAllocationSeconds {
			add(f+".allocation_seconds", "must be a number in [0, 1e11]")
		}
	}
}

func validEpoch(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// seconds is d in seconds to the millisecond, the contract's resolution.
func seconds(d time.Duration) float64 { return math.Round(d.Seconds()*1000) / 1000 }

// fromSeconds is s seconds to the millisecond; s must be finite and in range.
func fromSeconds(s float64) time.Duration {
	return time.Duration(math.Round(s*1000)) * time.Millisecond
}

// UsageTotals is openapi.yaml's UsageTotals: usage summed over a period.
type UsageTotals struct {
	BytesToPeer       uint64  `json:"bytes_to_peer"`
	BytesFromPeer     uint64  `json:"bytes_from_peer"`
	AllocationSeconds float64 `json:"allocation_seconds"`
}

// NewUsageTotals is u as an answer carries it.
func NewUsageTotals(u relay.Usage) UsageTotals {
	return UsageTotals{BytesToPeer: u.BytesToPeer, BytesFromPeer: u.BytesFromPeer, AllocationSeconds: seconds(u.AllocationTime)}
}

// UsageHour is openapi.yaml's UsageHour: usage in the hour from start.
type UsageHour struct {
	Start time.Time   `json:"start"`
	Usage UsageTotals `json:"usage"`
}

// Usage is openapi.yaml's Usage, the answer to GET /v1/usage: one token
// subject's usage over [from, to), in total and per hour with any.
type Usage struct {
	Subject string      `json:"subject"`
	From    time.Time   `json:"from"`
	To      time.Time   `json:"to"`
	Total   UsageTotals `json:"total"`
	Hours   []UsageHour `json:"hours"`
}

// wholeHours is [from, to) widened to whole hours, in UTC, as the store
// counts them.
func wholeHours(from, to time.Time) (time.Time, time.Time) {
	f, t := from.UTC().Truncate(time.Hour), to.UTC().Truncate(time.Hour)
	if t.Before(to) {
		t = t.Add(time.Hour)
	}
	return f, t
}

// NewUsage is the answer for subject's usage periods between from and to
// (widened to whole hours).
func NewUsage(subject string, from, to time.Time, periods []relay.UsagePeriod) Usage {
	from, to = wholeHours(from, to)
	u := Usage{Subject: subject, From: from, To: to, Hours: make([]UsageHour, 0, len(periods))}
	var total relay.Usage
	for _, p := range periods {
		total.Add(p.Usage)
		u.Hours = append(u.Hours, UsageHour{Start: p.Start.UTC(), Usage: NewUsageTotals(p.Usage)})
	}
	u.Total = NewUsageTotals(total)
	return u
}

// RelayUsage is openapi.yaml's RelayUsage: one relay's usage over a period.
type RelayUsage struct {
	RelayID string      `json:"relay_id"`
	Usage   UsageTotals `json:"usage"`
}

// RelayUsageList is openapi.yaml's RelayUsageList, the answer to GET
// /v1/usage/relays: every relay that carried anything over [from, to), by
// ID, and their sum.
type RelayUsageList struct {
	From   time.Time    `json:"from"`
	To     time.Time    `json:"to"`
	Total  UsageTotals  `json:"total"`
	Relays []RelayUsage `json:"relays"`
}

// NewRelayUsageList is the answer for relays' usage between from and to
// (widened to whole hours).
func NewRelayUsageList(from, to time.Time, relays []relay.UsageOnRelay) RelayUsageList {
	from, to = wholeHours(from, to)
	l := RelayUsageList{From: from, To: to, Relays: make([]RelayUsage, 0, len(relays))}
	var total relay.Usage
	for _, r := range relays {
		total.Add(r.Usage)
		l.Relays = append(l.Relays, RelayUsage{RelayID: r.RelayID, Usage: NewUsageTotals(r.Usage)})
	}
	l.Total = NewUsageTotals(total)
	return l
}

// MaxUsageRange bounds the period of a usage query: the store keeps usage
// 35 days (store.UsageRetention), so a longer one could say no more.
const MaxUsageRange = 35 * 24 * time.Hour

// ParseUsageRange reads the from and to query parameters of the usage
// endpoints: RFC 3339 times, to after from and at most MaxUsageRange
// later. It names every invalid parameter.
func ParseUsageRange(from, to string) (time.Time, time.Time, []FieldError) {
	var fe []FieldError
	parse := func(name, v string) time.Time {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil || t.Year() < 1970 || t.Year() > 9999 {
			fe = append(fe, FieldError{Field: name, Message: "required: an RFC 3339 time, e.g. 2026-12-01T00:00:00Z"})
			return time.Time{}
		}
		return t
	}
	f, t := parse("from", from), parse("to", to)
	if len(fe) > 0 {
		return time.Time{}, time.Time{}, fe
	}
	switch {
	case !t.After(f):
		fe = append(fe, FieldError{Field: "to", Message: "must be after from"})
	case t.Sub(f) > MaxUsageRange:
		fe = append(fe, FieldError{Field: "to", Message: "at most 35 days after from"})
	}
	return f, t, fe
}

// ValidSubject reports whether s can be a token subject in a usage query:
// 1-256 bytes of valid UTF-8 without control characters.
func ValidSubject(s string) bool {
	if s == "" || len(s) > 256 || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
