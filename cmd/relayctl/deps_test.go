package main

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps: relayctl is a client. It speaks the API over HTTP with the
// contract's types (wire, over relay's vocabulary) and never links the
// gateway's or the relay's implementation (api, store, selector,
// turnrelay); of ours it uses probe, the credential scheme, its own turncheck
// and the commands' cmdline, and the gateway's JWT key rules (jwtkey).
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{InternalOnly: true, Allow: []string{
		depstest.Module + "wire",
		depstest.Module + "relay",
		depstest.Module + "probe",
		depstest.Module + "turnrelay/turncred",
		depstest.Module + "cmd/relayctl/internal/turncheck",
		depstest.Module + "internal/cmdline",
		depstest.Module + "internal/jwtkey",
	}})
}
