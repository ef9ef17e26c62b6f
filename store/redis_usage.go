package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/relaygate/relaygate/relay"
)

var _ Usage = (*Redis)(nil)

// Usage in Redis: the key layout is in the package doc.

// userTagBytes is as much of a pseudonym's HMAC as names its keys, as for
// prefixes (prefixTagBytes).
const userTagBytes = 12

// macPseudonym starts the input of a pseudonym tag's HMAC (macPrefix is
// the prefixes').
const macPseudonym = 2

// userTag names a pseudonym in keys: the hex of its keyed hash, so Redis
// holds no pseudonym a TURN username carries.
func (k *keyring) userTag(pseudonym string) string {
	h := hmac.New(sha256.New, k.mac)
	h.Write([]byte{macPseudonym})
	h.Write([]byte(pseudonym))
	return hex.EncodeToString(h.Sum(nil)[:userTagBytes])
}

func (s *Redis) userKey(tag, suffix string) string  { return s.keys.base + "{u:" + tag + "}:" + suffix }
func (s *Redis) relayUsageKey(suffix string) string { return s.keys.base + "{usage}:" + suffix }

// countUsageScript counts one report's usage in one hash unless the mark
// says it was counted. KEYS: marks hash, day hash. ARGV: mark field, epoch,
// seq, marks TTL s, day TTL s, field prefix, to peer, from peer, ms.
// Returns 1 when it counted, 0 when the report was counted before.
const countUsageLua = `
local m = redis.call('HGET', KEYS[1], ARGV[1])
if m then
	local e, s = string.match(m, '^(.*):(%d+)$')
	if e == ARGV[2] and tonumber(s) >= tonumber(ARGV[3]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
for i, k in ipairs({'t', 'f', 'm'}) do
	if ARGV[6 + i] ~= '0' then redis.call('HINCRBY', KEYS[2], ARGV[6] .. k, ARGV[6 + i]) end
end
redis.call('EXPIRE', KEYS[2], ARGV[5])
return 1
`

var countUsageScript = redis.NewScript(countUsageLua)

// AddUsage counts a relay's usage report once (see Usage): each entry by
// a script on its pseudonym's keys, all pipelined, then the relay's total
// by one on the relays' keys. A failure part-way leaves marks on what was
// counted, so the relay's next attempt counts the rest.
func (s *Redis) AddUsage(ctx context.Context, relayID string, rep relay.UsageReport) error {
	if err := checkUsageReport(relayID, rep); err != nil {
		return err
	}
	return s.addUsage(ctx, relayID, rep, true)
}

// addUsage is AddUsage after the checks; without relayTotal it counts the
// entries only, as an attempt that failed part-way would have.
func (s *Redis) addUsage(ctx context.Context, relayID string, rep relay.UsageReport, relayTotal bool) error {
	now := s.now()
	hour := floorHour(now)
	day := hour / 24
	dayTTL := strconv.FormatInt((day+1)*86400+int64(UsageRetention/time.Second)-now.Unix(), 10)
	markTTL := strconv.FormatInt(int64(UsageRetention/time.Second), 10)
	dayName := strconv.FormatInt(day, 10)
	seq := strconv.FormatUint(rep.Seq, 10)
	hourField := strconv.FormatInt(hour, 10) + ":"
	count := func(p redis.Scripter, eval bool, marks, dayKey, member, field string, u relay.Usage) {
		keys := []string{marks, dayKey}
		args := []any{member, rep.Epoch, seq, markTTL, dayTTL, field,
			u.BytesToPeer, u.BytesFromPeer, u.AllocationTime.Milliseconds()}
		if eval {
			p.Eval(ctx, countUsageLua, keys, args...)
		} else {
			p.EvalSha(ctx, countUsageScript.Hash(), keys, args...)
		}
	}
	run := func(eval bool) error {
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, e := range rep.Entries {
				tag := s.privacy.userTag(e.Pseudonym)
				count(p, eval, s.userKey(tag, "seen"), s.userKey(tag, dayName), relayID, hourField, e.Usage)
			}
			return nil
		})
		return err
	}
	err := run(false)
	if err != nil && isNoScript(err) {
		err = run(true) // idempotent: what counted before is not counted again
	}
	if err != nil {
		return s.fail("add usage of "+strconv.Quote(relayID), err)
	}
	if !relayTotal {
		return nil
	}
	sum := sumEntries(rep)
	err = countUsageScript.Run(ctx, s.client, []string{s.relayUsageKey("seen"), s.relayUsageKey(dayName)},
		relayID, rep.Epoch, seq, markTTL, dayTTL, relayID+":"+hourField,
		sum.BytesToPeer, sum.BytesFromPeer, sum.AllocationTime.Milliseconds()).Err()
	if err != nil {
		return s.fail("add usage of "+strconv.Quote(relayID), err)
	}
	return nil
}

// isNoScript reports whether err is Redis' NOSCRIPT: the script cache
// (per node) does not hold the script yet.
func isNoScript(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && strings.HasPrefix(re.Error(), "NOSCRIPT")
}

// UsageOf returns the pseudonyms' summed hourly usage (see Usage).
func (s *Redis) UsageOf(ctx context.Context, pseudonyms []string, from, to time.Time) ([]relay.UsagePeriod, error) {
	if err := checkPseudonyms(pseudonyms); err != nil {
		return nil, err
	}
	total := sums[int64]{}
	days := func(d string) []string {
		keys := make([]string, 0, len(pseudonyms))
		for _, ps := range pseudonyms {
			keys = append(keys, s.userKey(s.privacy.userTag(ps), d))
		}
		return keys
	}
	err := s.scanUsage(ctx, "usage", from, to, days, func(field, v string, first, end int64) {
		h, k, ok := strings.Cut(field, ":")
		hour, err := strconv.ParseInt(h, 10, 64)
		if ok && err == nil && hour >= first && hour < end {
			var u relay.Usage
			addField(&u, k, v)
			total.add(hour, u)
		}
	})
	if err != nil {
		return nil, err
	}
	return periods(total), nil
}

// RelayUsage returns each relay's usage over the hours (see Usage).
func (s *Redis) RelayUsage(ctx context.Context, from, to time.Time) ([]relay.UsageOnRelay, error) {
	total := sums[string]{}
	days := func(d string) []string { return []string{s.relayUsageKey(d)} }
	err := s.scanUsage(ctx, "relay usage", from, to, days, func(field, v string, first, end int64) {
		parts := strings.Split(field, ":") // relay id : hour : kind
		if len(parts) != 3 {
			return
		}
		hour, err := strconv.ParseInt(parts[1], 10, 64)
		if err == nil && hour >= first && hour < end {
			var u relay.Usage
			addField(&u, parts[2], v)
			total.add(parts[0], u)
		}
	})
	if err != nil {
		return nil, err
	}
	return relays(total), nil
}

// scanUsage checks a query (usageWindow), reads the day hashes that keys
// names for each Unix day of its hours in one pipeline, and calls field
// with each of their fields and the query's hours.
func (s *Redis) scanUsage(ctx context.Context, op string, from, to time.Time,
	keys func(day string) []string, field func(field, v string, first, end int64),
) error {
	first, end, err := usageWindow(from, to, s.now())
	if err != nil || end <= first {
		return err
	}
	var cmds []*redis.MapStringStringCmd
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for d := first / 24; d <= (end-1)/24; d++ {
			for _, k := range keys(strconv.FormatInt(d, 10)) {
				cmds = append(cmds, p.HGetAll(ctx, k))
			}
		}
		return nil
	})
	if err != nil {
		return s.fail(op, err)
	}
	for _, c := range cmds {
		for f, v := range c.Val() {
			field(f, v, first, end)
		}
	}
	return nil
}

// addField adds one stored count, field kind k ("t", "f" or "m"), to u.
func addField(u *relay.Usage, k, v string) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return
	}
	switch k {
	case "t":
		u.BytesToPeer += uint64(n)
	case "f":
		u.BytesFromPeer += uint64(n)
	case "m":
		u.AllocationTime += time.Duration(n) * time.Millisecond
	}
}
