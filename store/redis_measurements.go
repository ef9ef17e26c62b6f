package store

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/relaygate/relaygate/relay"
)

// metaField is the field of a prefix's hash that holds its meta record
// (the sealed prefix, when it was last touched) beside the aggregates,
// which are keyed by relay ID. Relay IDs are never empty.
const metaField = ""

// metaRecord is a prefix hash's meta field, version aggregateVersion,
// written by the fold script.
type metaRecord struct {
	V         int    `json:"v"`
	TouchedMS int64  `json:"touched_ms"` // the latest fold, Unix ms rounded down
	Prefix    string `json:"prefix"`     // the prefix sealed by the keyring
}

// indexScript stamps a prefix tag in the measurements index (ZADD GT: a
// late write never moves it back) and renews the index's TTL. KEYS:
// prefixes index. ARGV: tag, now (Unix ms, rounded down), TTL (ms), stale
// cutoff (Unix ms). Returns the number of prefixes and how many of them
// are stale.
var indexScript = redis.NewScript(`
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {redis.call('ZCARD', KEYS[1]), redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. ARGV[4])}
`)

// foldScript folds one reporter's measurements into one prefix's
// aggregates in one atomic step, the arithmetic of relay.Aggregate.Add
// (the caller has already clamped each RTT and loss with
// relay.Measurement.Clamp), then caps the prefix's relays, writes the meta
// field and renews the key's TTL. It touches the prefix's hash only, so it
// stays in the prefix's own Cluster slot. KEYS: the prefix's hash. ARGV:
// 1 now (Unix s), 2 now (ns within the second), 3 now (Unix ms, rounded
// down), 4 half-life (ns), 5 max age (ms), 6 max age (ns), 7 relays per
// prefix, 8 sample cap, 9 reporters per aggregate, 10 reporter ID, 11
// sealed prefix, then relay id, RTT (ms), loss triples.
var foldScript = redis.NewScript(`
local now_s, now_ns, now_ms = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local hl, max_age_ns = tonumber(ARGV[4]), tonumber(ARGV[6])
local cap, max_samples, max_reporters, me = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]), ARGV[10]
-- How long before now a stamp lies, in ns; negative when after now.
local function age(s, ns) return (now_s - s) * 1e9 + (now_ns - ns) end
local function before(x, y)
	return x.updated_s < y.updated_s or (x.updated_s == y.updated_s and x.updated_ns < y.updated_ns)
end
local function enc(a)
	local rs = {}
	for i, r in ipairs(a.reporters) do
		rs[i] = string.format('{"id":"%s","rtt_ms":%.17g,"loss":%.17g,"weight":%.17g,"updated_s":%d,"updated_ns":%d}',
			r.id, r.rtt_ms, r.loss, r.weight, r.updated_s, r.updated_ns)
	end
	return string.format('{"v":2,"samples":%d,"updated_s":%d,"updated_ns":%d,"reporters":[%s]}',
		a.samples, a.updated_s, a.updated_ns, table.concat(rs, ','))
end
-- Byte order, as Go compares strings (Lua's < follows the server's locale).
local function less(x, y)
	for i = 1, math.min(#x, #y) do
		local a, b = string.byte(x, i), string.byte(y, i)
		if a ~= b then return a < b end
	end
	return #x < #y
end
local function fold(a, rtt, loss)
	local out, mine = {}, nil
	for _, r in ipairs(a.reporters) do
		if r.id == me then
			out[#out + 1] = r
			mine = #out
		elseif age(r.updated_s, r.updated_ns) <= max_age_ns then
			out[#out + 1] = r
		end
	end
	if not mine then
		if #out >= max_reporters then
			local lru = 1
			for i = 2, #out do
				if before(out[i], out[lru]) then lru = i end
			end
			table.remove(out, lru)
		end
		out[#out + 1] = {id = me, rtt_ms = 0, loss = 0, weight = 0, updated_s = 0, updated_ns = 0}
		mine = #out
	end
	local r = out[mine]
	local dt = age(r.updated_s, r.updated_ns)
	local w = r.weight
	if dt > 0 then w = w * 2 ^ (-dt / hl) end
	local n = w + 1
	r.rtt_ms = (r.rtt_ms * w + rtt) / n
	r.loss = (r.loss * w + loss) / n
	r.weight = n
	if dt > 0 then r.updated_s, r.updated_ns = now_s, now_ns end
	a.reporters = out
	a.samples = math.min(a.samples + 1, max_samples)
	if age(a.updated_s, a.updated_ns) > 0 then a.updated_s, a.updated_ns = now_s, now_ns end
end
local aggs, order = {}, {}
for i = 12, #ARGV, 3 do
	local id = ARGV[i]
	local a = aggs[id]
	if not a then
		local raw = redis.call('HGET', KEYS[1], id)
		if raw then
			a = cjson.decode(raw)
			if a.v ~= 2 then return redis.error_reply('aggregate format version unknown') end
		else
			a = {samples = 0, updated_s = 0, updated_ns = 0, reporters = {}}
		end
		aggs[id] = a
		order[#order + 1] = id
	end
	fold(a, tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]))
end
if #order == 0 then return 0 end
local touched = now_ms
local meta = redis.call('HGET', KEYS[1], '')
if meta then
	local ok, m = pcall(cjson.decode, meta)
	if ok and type(m) == 'table' and type(m.touched_ms) == 'number' and m.touched_ms > touched then touched = m.touched_ms end
end
local kv = {'', string.format('{"v":2,"touched_ms":%d,"prefix":"%s"}', touched, ARGV[11])}
for _, id in ipairs(order) do
	kv[#kv + 1] = id
	kv[#kv + 1] = enc(aggs[id])
end
redis.call('HSET', KEYS[1], unpack(kv))
local held = redis.call('HLEN', KEYS[1]) - 1
if held > cap then
	local all = redis.call('HGETALL', KEYS[1])
	local list = {}
	for i = 1, #all, 2 do
		if all[i] ~= '' then
			local ok, a = pcall(cjson.decode, all[i + 1])
			if not ok or type(a) ~= 'table' then a = {} end
			list[#list + 1] = {id = all[i], s = tonumber(a.updated_s) or 0, ns = tonumber(a.updated_ns) or 0}
		end
	end
	table.sort(list, function(x, y)
		if x.s ~= y.s then return x.s < y.s end
		if x.ns ~= y.ns then return x.ns < y.ns end
		return less(x.id, y.id)
	end)
	local del = {}
	for i = 1, held - cap do del[#del + 1] = list[i].id end
	redis.call('HDEL', KEYS[1], unpack(del))
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 0
`)

// trimIndexScript removes from the index the prefix tags the caller picked
// from its front, each only if it is still stale or still among the
// excess: its score is below the stale cutoff, or the index is over its
// cap and the prefix has not been measured since the caller looked. KEYS:
// prefixes index. ARGV: 1 stale cutoff (Unix ms), 2 max prefixes, then
// tag, score seen pairs. Returns the tags it removed.
var trimIndexScript = redis.NewScript(`
local cutoff, max_prefixes = tonumber(ARGV[1]), tonumber(ARGV[2])
local gone = {}
for i = 3, #ARGV, 2 do
	local s = redis.call('ZSCORE', KEYS[1], ARGV[i])
	if s then
		s = tonumber(s)
		if s < cutoff or (s <= tonumber(ARGV[i + 1]) and redis.call('ZCARD', KEYS[1]) > max_prefixes) then
			redis.call('ZREM', KEYS[1], ARGV[i])
			gone[#gone + 1] = ARGV[i]
		end
	end
end
return gone
`)

// dropPrefixScript deletes a prefix's hash unless a fold touched it after
// the index entry that trimIndexScript removed: that fold's own index
// write has put the prefix back, and its samples must stay. KEYS: the
// prefix's hash. ARGV: the index score the trim saw (Unix ms).
var dropPrefixScript = redis.NewScript(`
local meta = redis.call('HGET', KEYS[1], '')
if meta then
	local ok, m = pcall(cjson.decode, meta)
	if ok and type(m) == 'table' and type(m.touched_ms) == 'number' and m.touched_ms > tonumber(ARGV[1]) then
		return 0
	end
end
return redis.call('DEL', KEYS[1])
`)

// AddMeasurements stamps prefix in the measurements index, then folds
// reporter's ms into the prefix's hash, each in a script of its own slot;
// when the index reports stale prefixes or too many, it deletes up to
// GCBatch of the oldest.
//
// The index goes first. Between the two steps a reader may see the new
// stamp with the old aggregates, and come back for the new ones at its
// next read, whose cursor (CursorOverlap before the previous read) still
// covers the stamp; if the fold fails, the index names a prefix whose
// aggregates did not change, which reads and trimming take in their stride.
// The other order could leave folded samples that no index entry leads to.
func (s *Redis) AddMeasurements(ctx context.Context, prefix netip.Prefix, reporter string, ms []relay.Measurement) error {
	if err := checkMeasurements(prefix, reporter, ms); err != nil {
		return err
	}
	if len(ms) == 0 {
		return nil
	}
	now := stamp(s.now)
	cutoff := floorMS(now.Add(-s.agg.MaxAge))
	tag := s.privacy.prefixTag(prefix)
	res, err := indexScript.Run(ctx, s.client, []string{s.keys.prefixes}, tag, floorMS(now), s.agg.MaxAge.Milliseconds(), cutoff).Int64Slice()
	if err != nil {
		return s.fail("add measurements: index", err)
	}
	if len(res) != 2 {
		return fmt.Errorf("redis add measurements: index script returned %d values, want 2", len(res))
	}
	args := make([]any, 11, 11+3*len(ms))
	args[0], args[1], args[2], args[3] = now.Unix(), now.Nanosecond(), floorMS(now), int64(s.agg.HalfLife)
	args[4], args[5], args[6], args[7] = s.agg.MaxAge.Milliseconds(), int64(s.agg.MaxAge), MaxRelaysPerPrefix, maxAggregateSamples
	args[8], args[9], args[10] = relay.MaxReporters, reporter, s.privacy.seal(prefix, tag)
	for _, m := range ms {
		rtt, loss := m.Clamp()
		args = append(args, m.RelayID, strconv.FormatFloat(rtt, 'g', -1, 64), strconv.FormatFloat(loss, 'g', -1, 64))
	}
	if err := foldScript.Run(ctx, s.client, []string{s.keys.prefixKey(tag)}, args...).Err(); err != nil {
		return s.fail("add measurements: fold", err)
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
// MaxPrefixes, and reports how many it removed from the index. Each goes
// from the index first (one script, the index's slot), then its hash (one
// script each, in their own slots), unless a fold touched the hash since.
func (s *Redis) trimPrefixes(ctx context.Context, cutoff, n int64) (int, error) {
	oldest, err := s.client.ZRangeWithScores(ctx, s.keys.prefixes, 0, n-1).Result()
	if err != nil {
		return 0, s.fail("trim prefixes", err)
	}
	if len(oldest) == 0 {
		return 0, nil
	}
	seen := make(map[string]string, len(oldest))
	args := make([]any, 2, 2+2*len(oldest))
	args[0], args[1] = cutoff, s.maxPrefixes
	for _, z := range oldest {
		tag, _ := z.Member.(string)
		score := strconv.FormatFloat(z.Score, 'f', -1, 64)
		seen[tag] = score
		args = append(args, tag, score)
	}
	gone, err := trimIndexScript.Run(ctx, s.client, []string{s.keys.prefixes}, args...).StringSlice()
	if err != nil {
		return 0, s.fail("trim prefixes", err)
	}
	if len(gone) == 0 {
		return 0, nil
	}
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, tag := range gone {
			dropPrefixScript.Eval(ctx, p, []string{s.keys.prefixKey(tag)}, seen[tag])
		}
		return nil
	})
	if err != nil {
		return 0, s.fail("trim prefixes", err)
	}
	return len(gone), nil
}

// Measurements reads the index for prefixes measured at or after since
// (and within MaxAge), then their hashes in pipelined batches, which a
// Cluster client sends to each hash's own node.
func (s *Redis) Measurements(ctx context.Context, since time.Time) (map[netip.Prefix]map[string]relay.Aggregate, time.Time, error) {
	now := stamp(s.now)
	lo := now.Add(-s.agg.MaxAge)
	if since.After(lo) {
		lo = since
	}
	tags, err := s.client.ZRangeByScore(ctx, s.keys.prefixes, &redis.ZRangeBy{
		Min: strconv.FormatInt(floorMS(lo), 10), Max: "+inf",
	}).Result()
	if err != nil {
		return nil, time.Time{}, s.fail("measurements", err)
	}
	out := make(map[netip.Prefix]map[string]relay.Aggregate, len(tags))
	cmds := make([]*redis.MapStringStringCmd, 0, min(len(tags), measureBatch))
	for start := 0; start < len(tags); start += measureBatch {
		batch := tags[start:min(start+measureBatch, len(tags))]
		cmds = cmds[:0]
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, tag := range batch {
				cmds = append(cmds, p.HGetAll(ctx, s.keys.prefixKey(tag)))
			}
			return nil
		})
		if err != nil {
			return nil, time.Time{}, s.fail("measurements", err)
		}
		for i, tag := range batch {
			p, aggs, err := s.decodePrefix(tag, cmds[i].Val(), now)
			if err != nil {
				return nil, time.Time{}, err
			}
			if len(aggs) > 0 {
				out[p] = aggs
			}
		}
	}
	return out, now.Add(-CursorOverlap), nil
}

// decodePrefix opens the prefix that the hash fields of tag are for and
// decodes its aggregates that are fresh at now. A hash that is gone (trimmed
// or expired since the index was read) has no fields and no aggregates.
func (s *Redis) decodePrefix(tag string, fields map[string]string, now time.Time) (netip.Prefix, map[string]relay.Aggregate, error) {
	raw, ok := fields[metaField]
	if !ok {
		return netip.Prefix{}, nil, nil
	}
	var meta metaRecord
	if err := json.Unmarshal([]byte(raw), &meta); err != nil {
		return netip.Prefix{}, nil, fmt.Errorf("redis measurements: meta record does not parse: %w", errSealed)
	}
	if meta.V != aggregateVersion {
		return netip.Prefix{}, nil, fmt.Errorf("redis measurements: meta record version %d: %w", meta.V, errSealed)
	}
	p, err := s.privacy.open(tag, meta.Prefix)
	if err != nil {
		return netip.Prefix{}, nil, fmt.Errorf("redis measurements: %w", err)
	}
	aggs := make(map[string]relay.Aggregate, len(fields)-1)
	for id, raw := range fields {
		if id == metaField {
			continue
		}
		a, err := decodeAggregate(id, []byte(raw))
		if err != nil {
			return netip.Prefix{}, nil, err
		}
		if aggregateFresh(a, now, s.agg) {
			aggs[id] = a
		}
	}
	return p, aggs, nil
}
