// Package e2e holds relaygate's end-to-end tests: the built relaynode and
// relaygate binaries against foreign TURN software (coturn's
// turnutils_uclient as a client, coturn's turnserver as a relay) and the
// product's promise itself, a WebRTC call between two network namespaces in
// which neither party ever sees the other's address; and usage per user,
// relayed through a relaynode binary and read back from the gateway's API.
//
// The package has no code of its own: everything lives in _test.go files.
// The tests need root (network namespaces), iproute2 and Debian's coturn
// package; they skip with a reason when a tool is missing.
package e2e
