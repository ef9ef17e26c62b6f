// Package relay is relaygate's shared vocabulary: a relay as the registry
// knows it, where it is (its location, and its country, against which a
// Jurisdiction policy is checked), what it offers (the transport table),
// what the gateway's probes and its clients measured of it, a client as
// selection sees it (its prefix and location, never its address), and the
// answer a selection gives.
//
// It holds plain values with small methods and imports nothing of this
// module, so that selector, store, geoip, gateway, api and wire can all speak
// it without importing each other.
package relay
