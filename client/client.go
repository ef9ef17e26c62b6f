// Package client owns relaygate's browser client: relaygate.js, a
// dependency-free ES module that fetches credentials, builds a relay-only
// RTCConfiguration and watches a call so it moves to the backup relay when
// the one carrying it dies, and relaygate.d.ts, its TypeScript declarations.
// Both are embedded here so the gateway serves them at /client/ and apps can
// vendor them.
//
// It holds no Go logic beyond the embed and imports nothing but the standard
// library; the module is tested in a real browser by package browser.
package client

import _ "embed"

// JS is relaygate.js, verbatim. Treat it as read-only.
//
//go:embed relaygate.js
var JS []byte

// TypeScript is relaygate.d.ts, verbatim. Treat it as read-only.
//
//go:embed relaygate.d.ts
var TypeScript []byte
