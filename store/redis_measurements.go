package store

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/relaygate/relaygate/relay"
)

// addMeasurementsScript folds measurements into one prefix's aggregates in
// one atomic step, the same arithmetic as relay.Aggregate.Add (the
// caller has already clamped each RTT and loss through it), then caps the
// prefix's relays, stamps the prefix in the index and renews both keys'
// TTL. KEYS: prefixes index, the prefix's hash. ARGV: 1 prefix, 2 now
// (Unix s), 3 now (ns within the second), 4 now (Unix ms, rounded down),
// 5 half-life (ns), 6 max age (ms), 7 relays per prefix, 8 sample cap,
// 9 stale cutoff (Unix ms), then relay id, RTT (ms), loss triples. Returns
// the number of prefixes and how many of them are stale.
var addMeasurementsScript = redis.NewScript(`
local now_s, now_ns = tonumber(ARGV[2]), tonumber(ARGV[3])
local hl, cap, max_samples = tonumber(ARGV[5]), tonumber(ARGV[7]), tonumber(ARGV[8])
local function enc(a)
	return string.format('{"v":1,"rtt_ms":%.17g,"loss":%.17g,"weight":%.17g,"samples":%d,"updated_s":%d,"updated_ns":%d}',
		a.rtt_ms, a.loss, a.weight, a.samples, a.updated_s, a.updated_ns)
end
-- Byte order, as Go compares strings (Lua's < follows the server's locale).
local function less(x, y)
	for i = 1, math.min(#x, #y) do
		local a, b = string.byte(x, i), string.byte(y, i)
		if a ~= b then return a < b end
	end
	return #x < #y
end
local aggs, order = {}, {}
for i = 10, #ARGV, 3 do
	local id = ARGV[i]
	local a = aggs[id]
	if not a then
		local raw = redis.call('HGET', KEYS[2], id)
		if raw then
			a = cjson.decode(raw)
			if a.v ~= 1 then return redis.error_reply('aggregate format version unknown') end
		else
			a = {rtt_ms = 0, loss = 0, weight = 0, samples = 0, updated_s = 0, updated_ns = 0}
		end
		aggs[id] = a
		order[#order + 1] = id
	end
	local dt = (now_s - a.updated_s) * 1e9 + (now_ns - a.updated_ns)
	local w = a.weight
	if dt > 0 then w = w * 2 ^ (-dt / hl) end
	local n = w + 1
	a.rtt_ms = (a.rtt_ms * w + tonumber(ARGV[i + 1])) / n
	a.loss = (a.loss * w + tonumber(ARGV[i + 2])) / n
	a.weight = n
	a.samples = math.min(a.samples + 1, max_samples)
	if dt >= 0 then a.updated_s, a.updated_ns = now_s, now_ns end
end
if #order > 0 then
	local kv = {}
	for _, id in ipairs(order) do
		kv[#kv + 1] = id
		kv[#kv + 1] = enc(aggs[id])
	end
	redis.call('HSET', KEYS[2], unpack(kv))
	local held = redis.call('HLEN', KEYS[2])
	if held > cap then
		local all = redis.call('HGETALL', KEYS[2])
		local list = {}
		for i = 1, #all, 2 do
			local ok, a = pcall(cjson.decode, all[i + 1])
			if not ok or type(a) ~= 'table' then a = {} end
			list[#list + 1] = {id = all[i], s = tonumber(a.updated_s) or 0, ns = tonumber(a.updated_ns) or 0}
		end
		table.sort(list, function(x, y)
			if x.s ~= y.s then return x.s < y.s end
			if x.ns ~= y.ns then return x.ns < y.ns end
			return less(x.id, y.id)
		end)
		local del = {}
		for i = 1, held - cap do del[#del + 1] = list[i].id end
		redis.call('HDEL', KEYS[2], unpack(del))
	end
	local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
	if not old or tonumber(old) < tonumber(ARGV[4]) then
		redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
	end
	redis.call('PEXPIRE', KEYS[2], ARGV[6])
	redis.call('PEXPIRE', KEYS[1], ARGV[6])
end
return {redis.call('ZCARD', KEYS[1]), redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. ARGV[9])}
`)

// trimPrefixesScript deletes prefixes the caller picked from the front of
// the index, each only if it is still stale or still among the excess: its
// score is below the stale cutoff, or the index is over its cap and the
// prefix has not been measured since the caller looked. KEYS: prefixes
// index, then the picked prefixes' hashes. ARGV: 1 stale cutoff (Unix ms),
// 2 max prefixes, then prefix, score seen pairs in KEYS' order. Returns how
// many it deleted.
var trimPrefixesScript = redis.NewScript(`
local cutoff, max_prefixes = tonumber(ARGV[1]), tonumber(ARGV[2])
local n = 0
for i = 2, #KEYS do
	local member, seen = ARGV[2 * i - 1], tonumber(ARGV[2 * i])
	local s = redis.call('ZSCORE', KEYS[1], member)
	if s then
		s = tonumber(s)
		if s < cutoff or (s <= seen and redis.call('ZCARD', KEYS[1]) > max_prefixes) then
			redis.call('ZREM', KEYS[1], member)
			redis.call('DEL', KEYS[i])
			n = n + 1
		end
	end
end
return n
`)

// AddMeasurements folds ms into prefix's aggregates in one script, then,
// when the script reports stale prefixes or too many, deletes up to
// GCBatch of the oldest.
func (s *Redis) AddMeasurements(ctx context.Context, prefix netip.Prefix, ms []relay.Measurement) error {
	if err := checkMeasurements(prefix, ms); err != nil {
		return err
	}
	if len(ms) == 0 {
		return nil
	}
	now := stamp(s.now)
	cutoff := floorMS(now.Add(-s.agg.MaxAge))
	member := prefix.String()
	args := make([]any, 9, 9+3*len(ms))
	args[0], args[1], args[2], args[3], args[4] = member, now.Unix(), now.Nanosecond(), floorMS(now), int64(s.agg.HalfLife)
	args[5], args[6], args[7], args[8] = s.agg.MaxAge.Milliseconds(), MaxRelaysPerPrefix, maxAggregateSamples, cutoff
	for _, m := range ms {
		c := relay.Aggregate{}.Add(m, now, s.agg) // selector's clamping of RTT and loss
		args = append(args, m.RelayID, strconv.FormatFloat(c.RTTMillis, 'g', -1, 64), strconv.FormatFloat(c.Loss, 'g', -1, 64))
	}
	res, err := addMeasurementsScript.Run(ctx, s.client, []string{s.keys.prefixes, s.keys.prefixKey(member)}, args...).Int64Slice()
	if err != nil {
		return s.fail("add measurements", err)
	}
	if len(res) != 2 {
		return fmt.Errorf("redis add measurements: script returned %d values, want 2", len(res))
	}
	if excess := max(res[1], res[0]-int64(s.maxPrefixes)); excess > 0 {
		if _, err := s.trimPrefixes(ctx, cutoff, min(excess, int64(s.gcBatch))); err != nil {
			return err
		}
	}
	return nil
}

// trimPrefixes deletes up to n of the least recently measured prefixes
// that are stale (last measured before cutoff, Unix ms) or beyond
// MaxPrefixes, and reports how many it deleted.
func (s *Redis) trimPrefixes(ctx context.Context, cutoff, n int64) (int, error) {
	oldest, err := s.client.ZRangeWithScores(ctx, s.keys.prefixes, 0, n-1).Result()
	if err != nil {
		return 0, s.fail("trim prefixes", err)
	}
	if len(oldest) == 0 {
		return 0, nil
	}
	keys := make([]string, 1, 1+len(oldest))
	keys[0] = s.keys.prefixes
	args := make([]any, 2, 2+2*len(oldest))
	args[0], args[1] = cutoff, s.maxPrefixes
	for _, z := range oldest {
		m, _ := z.Member.(string)
		keys = append(keys, s.keys.prefixKey(m))
		args = append(args, m, strconv.FormatFloat(z.Score, 'f', -1, 64))
	}
	deleted, err := trimPrefixesScript.Run(ctx, s.client, keys, args...).Int()
	if err != nil {
		return 0, s.fail("trim prefixes", err)
	}
	return deleted, nil
}

// Measurements reads the index for prefixes measured at or after since
// (and within MaxAge), then their hashes in pipelined batches.
func (s *Redis) Measurements(ctx context.Context, since time.Time) (map[netip.Prefix]map[string]relay.Aggregate, time.Time, error) {
	now := stamp(s.now)
	lo := now.Add(-s.agg.MaxAge)
	if since.After(lo) {
		lo = since
	}
	members, err := s.client.ZRangeByScore(ctx, s.keys.prefixes, &redis.ZRangeBy{
		Min: strconv.FormatInt(floorMS(lo), 10), Max: "+inf",
	}).Result()
	if err != nil {
		return nil, time.Time{}, s.fail("measurements", err)
	}
	out := make(map[netip.Prefix]map[string]relay.Aggregate, len(members))
	cmds := make([]*redis.MapStringStringCmd, 0, min(len(members), measureBatch))
	for start := 0; start < len(members); start += measureBatch {
		batch := members[start:min(start+measureBatch, len(members))]
		cmds = cmds[:0]
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, m := range batch {
				cmds = append(cmds, p.HGetAll(ctx, s.keys.prefixKey(m)))
			}
			return nil
		})
		if err != nil {
			return nil, time.Time{}, s.fail("measurements", err)
		}
		for i, m := range batch {
			p, err := netip.ParsePrefix(m)
			if err != nil {
				return nil, time.Time{}, fmt.Errorf("redis measurements: %w", errBadPrefixKey)
			}
			aggs := make(map[string]relay.Aggregate, len(cmds[i].Val()))
			for id, raw := range cmds[i].Val() {
				a, err := decodeAggregate(id, []byte(raw))
				if err != nil {
					return nil, time.Time{}, err
				}
				if aggregateFresh(a, now, s.agg) {
					aggs[id] = a
				}
			}
			if len(aggs) > 0 {
				out[p] = aggs
			}
		}
	}
	return out, now.Add(-CursorOverlap), nil
}
