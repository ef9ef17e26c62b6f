// Package store is the gateway's registry: the relays that heartbeat into it,
// with their reported data, the time each expires, and operators' drain marks;
// each gateway replica's STUN probe view of every relay (RecordProbes, filled
// into the relays Relay and Relays return); and what clients measured to
// relays, aggregated per client prefix and reporter with relay.Aggregate
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
// keeps the registry under the hash tag {registry}, so that its scripts and
// transactions touch a single Cluster slot:
//
//	P{registry}:relays         hash: relay ID → JSON record (versioned, field "v")
//	P{registry}:expiry         sorted set: relay ID scored by expiry, Unix milliseconds
//	P{registry}:drain          hash: relay ID → "1" for each operator drain mark
//	P{registry}:probes:R       hash: relay ID → replica R's probe view, JSON (versioned)
//	P{registry}:seq            counter: the change sequence
//	P{registry}:changes        sorted set: relay ID → sequence of its last heartbeat or drain mark change
//	P{registry}:changes:R      sorted set: relay ID → sequence of replica R's last probe view of it
//
// and the client measurements beside it, each prefix under a hash tag of
// its own, so that they spread over a Cluster's slots and nodes:
//
//	P{measured}:prefixes       sorted set: prefix tag → last measured, Unix milliseconds
//	P{<tag>}:prefix            hash: relay ID → aggregate JSON (version 2), one per prefix;
//	                           field "" → {"v":2,"touched_ms":…,"prefix":<sealed>}
//
// The operator's revocations have a hash tag of their own, one slot for
// both keys, so that a write and its version change are one transaction:
//
//	P{revocations}:subjects    hash: token subject → {"v":1,"pseudonym","until","at"}
//	P{revocations}:version     counter: INCR'd by every revoke and lift
//
// A revocation lapses at its stored until; reads leave lapsed ones out and
// delete them. Gateways poll the version (one GET) and reread the hash only
// when it changed.
//
// <tag> is 24 hex digits of an HMAC-SHA256 of the prefix under a key
// derived from RedisConfig.PrivacyKey: no client prefix appears in a key,
// since anyone who reads Redis (a backup, a replica, an operator's
// MONITOR) could otherwise list the networks that use the service; an
// unkeyed hash would not do, as the 2^24 IPv4 /24s are quickly tried. The
// store still has to give prefixes back (Measurements), so each hash
// carries its prefix sealed with AES-256-GCM under another derived key,
// bound to the tag. Reporter IDs in the aggregates are the gateway's keyed
// hashes of user and prefix, never a user's name, and differ from prefix
// to prefix. Without the key Redis tells which relays some network
// measured, how they fared and from how many reporters, not which network
// or who.
//
// Usage (the Usage interface) keeps hour buckets per pseudonym, each
// pseudonym under a hash tag of its own (a keyed hash like <tag>, so no
// pseudonym of a TURN username appears in Redis), and per relay under one:
//
//	P{u:<tag>}:seen            hash: relay ID → "<epoch>:<seq>" of the last report counted for it
//	P{u:<tag>}:<day>           hash: "<hour>:t|f|m" → bytes to peer, bytes from peer, allocation ms
//	P{usage}:seen              hash: relay ID → "<epoch>:<seq>" of its last report counted
//	P{usage}:<day>             hash: "<relay ID>:<hour>:t|f|m" → the relay's totals
//
// (<day> and <hour> in Unix days and hours). Each entry of a report is
// counted by one script on its pseudonym's keys, checking and setting the
// mark, so a report sent again after a failure part-way is counted once.
// Day hashes expire UsageRetention after their day ends.
//
// The registry stays in one slot on purpose: heartbeats, drain marks and
// garbage collection change the relays, their expiry and the change
// sequence in single scripts, and RelaysSince reads the change sets in one
// transaction with the sequence; all of that needs one slot. It is small:
// a few thousand relays are a few megabytes, which one node serves easily.
// Measurements are what grows (up to MaxPrefixes prefixes of up to
// MaxRelaysPerPrefix aggregates), so they are what is spread.
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
// AddMeasurements runs two scripts, each in one slot. The first stamps the
// prefix's tag in the index (ZADD GT), renews the index's TTL of
// Aggregate.MaxAge and counts the prefixes and the stale ones. The second
// reads, folds and writes the prefix's aggregates (the arithmetic of
// relay.Aggregate.Add, floats kept to 17 digits), so the measurements of one
// call are folded atomically and concurrent gateways lose no sample; it
// caps the prefix at MaxRelaysPerPrefix relays and each aggregate at
// relay.MaxReporters reporters, writes the meta field and renews the hash's
// TTL of MaxAge. When the first reported stale prefixes (last measured more
// than MaxAge ago) or more than MaxPrefixes, a third script removes up to
// GCBatch of the oldest from the index, rechecking each score, and one
// script per removed prefix then deletes its hash unless a fold touched it
// since (its meta field's touched_ms is newer than the index score the trim
// saw: that fold's own index write has put the prefix back, and its
// samples stay).
//
// The index and a prefix's hash are written one after the other, so for
// the length of one write they may disagree; reads stay correct either way.
// The index is written first: a read between the two sees the prefix
// stamped with its old aggregates, and its next read returns it again,
// because the cursor it resumes from lies CursorOverlap before the read
// and so before the stamp. A fold that fails after its index write leaves
// an entry whose hash did not change, or does not exist, which reads skip
// and trimming removes. A hash deleted by trimming, or expired by Redis,
// while its entry remains reads as nothing. The opposite order could leave
// folded samples that no index entry leads a reader to.
//
// Measurements reads the index from the cursor (ZRANGEBYSCORE) and then
// the prefixes' hashes in pipelined batches of a thousand (a Cluster client
// sends each to its node), opens each sealed prefix, and leaves out
// aggregates past MaxAge by their own timestamps. A hash that does not open
// with the store's key (gateways sharing a Redis with different keys) or
// in an unknown format fails the read rather than being misread.
//
// Upgrading from the layout before this one (aggregate version 1 under
// P{registry}:prefixes and P{registry}:prefix:<prefix>): those keys are
// neither read nor written any more and expire within MaxAge, so a
// registry upgraded in place starts its client measurements afresh while
// the relays carry on. Mixed fleets during a rolling upgrade keep two
// separate sets of measurements until the old gateways are gone.
//
// Memory keeps the same data with the same rules in maps, plus a log of
// prefixes in measurement order so that incremental reads, expiry and
// eviction never walk every prefix.
//
// The package is persistence only: it does not rank, keep in-memory
// snapshots for selection (package gateway does) or know about HTTP.
package store
