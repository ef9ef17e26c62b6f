// Package api is relaygate's HTTP surface: the chi router, JWT auth for the
// three roles (users, relay nodes, operators), the client-address rules,
// request decoding and validation, and problem+json errors (RFC 9457).
//
// Handlers are thin: decode, validate, call one dependency, encode. The
// dependencies are interfaces declared here (Registry, Picker, Minter,
// Measurements, Locator, Limiter), implemented by package gateway (and
// geoip, and ratelimit) and wired by cmd/relaygate; api imports none of
// those implementations. Rate limits answer 429 with Retry-After and the
// RateLimit fields; the budgets themselves are the Limiter's. The
// bodies it reads and writes are package wire's types, with wire's field
// rules; api adds HTTP: routes, auth, decoding limits, status codes and
// problem mapping. openapi/openapi.yaml is the contract every response is
// tested against.
//
// Privacy: nothing here logs or echoes a client address, a token, a TURN
// username or credential, a request body or a query string. The client
// address lives in an Addr, which renders as "[client]".
package api
