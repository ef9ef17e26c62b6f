// Package browser tests relaygate's browser client (package client's
// relaygate.js) in a real headless Chromium, driven from go test with
// chromedp: a real relaygate and two relaynode processes on loopback, a test
// page on another origin that imports the module cross-origin, and calls
// whose relay is killed mid-call or whose credentials expire.
//
// It holds tests only. They skip when /usr/bin/chromium is missing (Debian's
// chromium package, which CI installs).
package browser
