// Package heartbeat is the relay node's client of the gateway's heartbeat
// endpoint (PUT /v1/relays/{id}): it reports the node's fixed facts
// (addresses, ports per transport, capacity) and its live status (load,
// draining) at the gateway's interval, and reports draining at once.
//
// When the gateway turns a heartbeat away because its store is down (503,
// with Retry-After), the client tries again after the Retry-After, never
// later than the heartbeat interval, so the relay is registered again
// within one interval of the store's return; a gateway that does not answer
// at all is backed off from exponentially with jitter. Failure logs are
// rate-limited. The operator's drain mark that the gateway echoes in its
// answers is reasserted in every following heartbeat, so a gateway store
// that lost its data gets it back.
//
// A heartbeat carries the usage report its Config.Usage gives (per
// pseudonym bytes and allocation time, package turnrelay/usage) and tells
// the source which report the gateway's answer acknowledged (usage_ack);
// an unacknowledged report is sent again with the next heartbeat.
//
// It runs in its own goroutine and only calls the status function it is
// given, so a slow or absent gateway never delays relaying. It knows no
// TURN and no sockets but its HTTP client. The node token is sent as a
// Bearer token and never logged; errors name the gateway's status and
// problem type only. The JSON shapes live in body.go alone.
package heartbeat
