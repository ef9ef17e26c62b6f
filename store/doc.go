// Package store is the gateway's registry: the relays that heartbeat into it,
// with their reported data, the time each expires, and operators' drain marks;
// each gateway replica's STUN probe view of every relay (RecordProbes, filled
// into the relays Relay and Relays return); and what clients measured to
// relays, aggregated per client prefix with relay.Aggregate
// (AddMeasurements, and Measurements, which reads incrementally from a
// cursor so that a gateway can refresh its copy every second).
//
// Client prefixes identify households: the store never logs them and never
// puts them in an error message.
//
// Two implementations sit behind one interface, Registry: Memory, the embedded
// default for a single gateway, and Redis, for several gateway replicas that
// must agree (standalone, Sentinel or Cluster through go-redis' universal
// client). One conformance suite, store/storetest, runs against both.
//
// Expiry is a stored timestamp compared with an injected clock, never a
// side effect of Redis key expiry: a relay not heard from within its TTL is
// gone from every read the moment the TTL passes, on every replica. Redis
// EXPIRE and the like are only garbage collection.
//
// # Redis URLs
//
// OpenRedis picks the deployment from the URL's scheme (case-insensitive):
//
//	redis://[user:password@]host[:port][/db][?option=value...]      standalone
//	rediss://[user:password@]host[:port][/db][?option=value...]     standalone over TLS
//	unix://[user:password@]/path/to/redis.sock[?db=N&...]           standalone over a Unix socket
//	redis+sentinel://[user:password@]host:port[/db]?master_name=NAME[&addr=host2:port2...][&password=P]
//	rediss+sentinel://...                                           the same, TLS to Sentinels and master
//	redis+cluster://[user:password@]host:port[?addr=host2:port2...]  Cluster, seed nodes
//	rediss+cluster://...                                            Cluster over TLS
//
// Host defaults to localhost and port to 6379. For Sentinel the user info
// authenticates to the Sentinels and the username/password query parameters
// to the master; master_name is required. A Cluster URL takes no database
// (Cluster has only database 0). Options are go-redis' own query parameters
// (dial_timeout=3s, read_timeout=1s, pool_size=20, skip_verify=true, …);
// an unknown one is an error. Errors never repeat the URL or its password.
//
// # Redis layout
//
// For a key prefix P (default "relaygate:") and replica name R the store
// keeps these keys, which share the hash tag {registry}, so that its scripts
// and transactions touch a single Cluster slot:
//
//	P{registry}:relays         hash: relay ID → JSON record (versioned, field "v")
//	P{registry}:expiry         sorted set: relay ID scored by expiry, Unix milliseconds
//	P{registry}:drain          hash: relay ID → "1" for each operator drain mark
//	P{registry}:probes:R       hash: relay ID → replica R's probe view, JSON (versioned)
//	P{registry}:seq            counter: the change sequence
//	P{registry}:changes        sorted set: relay ID → sequence of its last heartbeat or drain mark change
//	P{registry}:changes:R      sorted set: relay ID → sequence of replica R's last probe view of it
//	P{registry}:prefixes       sorted set: client prefix → last measured, Unix milliseconds
//	P{registry}:prefix:<pfx>   hash: relay ID → aggregate JSON (versioned), one per prefix
//
// <pfx> is netip.Prefix.String() of a client prefix: "203.0.113.0/24",
// "2001:db8:7::/48".
//
// Reads decide freshness from the record's own expires_at, to the
// nanosecond, and the store's clock. Expired entries are removed by a Lua
// script, run atomically with each heartbeat (and by Redis.Collect), that
// deletes only members whose expiry score is still in the past when it runs,
// so it never races away a fresh heartbeat. Scores are rounded up and the
// script's clock down, so collection may trail expiry by under a millisecond
// but never precedes it. Drain marks are kept until an operator clears them,
// because they must survive a relay's expiry and return; a heartbeat that
// reasserts a mark sets it, in the same script, only when the relay has no
// fresh expiry score (the store lost its data, or never had it).
//
// Every heartbeat, drain mark change and probe view write takes the next
// change sequence (INCR seq) in the same script and scores the relay with
// it in changes (probe views: in changes:R, and only for relays in the
// relays hash), so each set holds at most one member per relay.
// RelaysSince reads both sets from the cursor (ZRANGEBYSCORE) in one
// transaction with seq, which becomes the next cursor, then the relays,
// marks and views in pipelined HMGET batches of a thousand. Collecting an
// expired relay removes it from changes and from the collecting replica's
// changes:R; other replicas' entries go with their probe views.
//
// Probe views carry their ProbedAt; reads ignore views older than
// ProbeMaxAge. Each RecordProbes script also takes one HSCAN step over the
// replica's hash (GCBatch entries) deleting views past that age or of relays
// no longer in the relays hash, and renews the hash's TTL of an hour, so a
// replica that goes away leaves nothing behind.
//
// AddMeasurements runs one Lua script per call that reads, decays, folds and
// writes the prefix's aggregates (the arithmetic of relay.Aggregate.Add,
// floats kept to 17 digits), caps the prefix at MaxRelaysPerPrefix relays,
// raises the prefix's score in the index, and renews both keys' TTL of
// Aggregate.MaxAge; concurrent gateways therefore lose no sample. When the
// script reports stale prefixes (last measured more than MaxAge ago) or more
// than MaxPrefixes, a second script deletes up to GCBatch of the oldest,
// rechecking each score first. Measurements reads the index from the cursor
// (ZRANGEBYSCORE) and then the prefixes' hashes in pipelined batches of a
// thousand, leaving out aggregates past MaxAge by their own timestamps.
//
// Memory keeps the same data with the same rules in maps, plus a log of
// prefixes in measurement order so that incremental reads, expiry and
// eviction never walk every prefix.
//
// The package is persistence only: it does not rank, keep in-memory
// snapshots for selection (package gateway does) or know about HTTP.
package store
