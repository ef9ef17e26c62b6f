// Package client owns relaygate's browser client: relaygate.js, a
// dependency-free ES module that fetches credentials, builds a relay-only
// RTCConfiguration and watches a call so it moves to the backup relay when
// the one carrying it dies, and relaygate.d.ts, its TypeScript declarations.
// Both are embedded here so the gateway serves them at /client/ and apps can
// vendor them.
//
// It also embeds the demo page the gateway serves at /demo (demo.html, with
// demo.js and demo.css beside it): a relay-only call between two
// RTCPeerConnections in one page, made with relaygate.js, showing the relays
// chosen and the call's live figures.
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

// DemoHTML is demo.html, the demo page the gateway serves at /demo.
//
//go:embed demo.html
var DemoHTML []byte

// DemoJS is demo.js, the demo page's module (an ES module that imports
// relaygate.js from ../client/).
//
//go:embed demo.js
var DemoJS []byte

// DemoCSS is demo.css, the demo page's style sheet.
//
//go:embed demo.css
var DemoCSS []byte
