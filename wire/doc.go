// Package wire holds the JSON shapes of relaygate's HTTP contract, one Go
// type per object schema of openapi.yaml (components/schemas), named as the
// spec names them and with exactly its field names: the gateway's api
// decodes and answers with them, and relayctl, the relay's heartbeat client
// and the load bench send and read the same types, so the contract is
// written once.
//
// The request types carry the contract's field rules as Validate methods,
// whose field names and messages are what the gateway answers in
// problem+json; conversions to and from relay's values are small pure
// functions beside the types. A test round-trips every type against the
// spec, so the package cannot drift from it.
//
// wire knows no HTTP: no routes, status codes, headers or decoding options
// (the api owns those). It imports relay and the standard library only.
package wire
