// Package ratelimit keeps request budgets per scope and key for the
// gateway's API: how many requests one token subject, one client prefix or
// one relay may make. It owns the budgets and nothing else: it does not know
// HTTP (package api declares the Limiter interface it needs and answers 429),
// never logs or exports a key, and keeps keys in memory only as long as its
// bounded LRU does.
//
// # Rules
//
// A Rule admits Limit requests per Window with bursts of up to Burst (a
// token bucket, the GCRA's equivalent): golang.org/x/time/rate decides
// locally, go-redis/redis_rate's GCRA keeps the shared budget in Redis.
// ParseRule reads the flag form "60/1m" or "60/1m,burst=20"; "off" turns a
// scope off.
//
// # Memory
//
// Memory decides every request in process: one rate.Limiter per key, at
// most MaxKeys keys per scope, the least recently used forgotten first (a
// forgotten key starts again with a full bucket, which only the least
// active keys ever do). It is exact for one gateway.
//
// # Redis: counted locally, reconciled in the background
//
// A Redis round trip per request would cost the credentials endpoint more
// than everything else it does, so Redis decides nothing on the request
// path. Each replica decides locally exactly as Memory does, and counts
// what it admitted per key. Every Interval (default 50 ms) Sync sends those
// counts to redis_rate's GCRA for the key (AllowAtMost, through go-redis'
// auto-pipeliner, so a sync of K keys costs about ceil(K/300) round trips,
// not K) and learns what is left of the shared budget. A key is charged at
// the next sync once a tenth of its burst has been admitted since its last
// charge (or while it owes debt); a key used less than that waits up to
// MaxHold (default 1 s), so a client seen now and then costs Redis one
// GCRA call per MaxHold rather than one per sync. Each charge:
//
//   - the local bucket is lowered to the shared remainder (less what was
//     admitted while the sync was in flight), so a replica never admits more
//     than the shared budget held at its last sync, plus refill;
//   - what the shared budget could not take (other replicas spent it) is
//     kept as debt: the key is refused on this replica until later syncs have
//     charged all of it, so every admitted request is eventually paid for and
//     the long-run rate across replicas is the rule's.
//
// Precision: with R replicas, admissions across the replicas in any period
// T stay within Burst + Limit*T/Window + (R-1)*(Burst +
// ceil(Limit*G/Window)), where G is the longest gap between a replica's
// charges of a key it uses: MaxHold plus one sync's round trip (one
// Interval plus a round trip for a key near its limit). The last term is
// the over-admission: each replica may spend the shared remainder it last
// learnt, plus what refills until its next charge, before it learns that
// the others spent it too (a fresh key starts with a full local bucket on
// each replica). It happens at most once per exhaustion and is repaid as
// debt afterwards, so the long-run rate is the rule's. With R = 1 the
// limit is exact. Example: 3 replicas, 60/1m with burst 20, defaults: at
// most 2*(20+2) = 44 requests over the rule, once.
//
// Redis keys are redis_rate's "rate:" followed by Prefix, the scope and a
// keyed hash (HMAC-SHA256 under HashKey, 128 bits) of the key, so Redis
// never holds a token subject or a client prefix; they expire when the
// budget is full again. While Redis cannot be reached every replica keeps
// deciding locally, so each enforces the rule on its own (R times the rule
// across the deployment) and Sync reports the error.
package ratelimit
