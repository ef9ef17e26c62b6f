// Package browser tests relaygate's browser client (package client's
// relaygate.js) in a real headless Chromium, driven from go test with
// chromedp: a real relaygate and two relaynode processes on loopback, a test
// page on another origin that imports the module cross-origin, and calls
// whose relay is killed or drained mid-call, in relaygate.js's plain and
// warm standby modes, or whose credentials expire. TestFailoverBench, behind
// RELAYGATE_FAILOVER_RUNS (bench/failover/run.sh), prints the gaps over
// several runs.
//
// It holds tests only. They skip when /usr/bin/chromium is missing (Debian's
// chromium package, which CI installs).
package browser
