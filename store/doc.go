// Package store is the gateway's registry: the relays that heartbeat into it,
// with their reported data, the time each expires, and operators' drain marks.
// Later it also keeps probe results and client measurements.
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
// The package does not rank, log or know about HTTP.
package store
