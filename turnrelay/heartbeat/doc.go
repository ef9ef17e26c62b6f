// Package heartbeat is the relay node's client of the gateway's heartbeat
// endpoint (PUT /v1/relays/{id}): it reports the node's fixed facts
// (addresses, ports per transport, capacity) and its live status (load,
// draining) at the gateway's interval, backs off with jitter while the
// gateway fails, rate-limits its failure logs, and reports draining at once.
//
// It runs in its own goroutine and only calls the status function it is
// given, so a slow or absent gateway never delays relaying. It knows no
// TURN and no sockets but its HTTP client. The node token is sent as a
// Bearer token and never logged; errors name the gateway's status and
// problem type only. The JSON shapes live in body.go alone.
package heartbeat
