// Command relaynode is relaygate's TURN relay: RFC 8656 over UDP, TCP and
// TLS, credentials minted by relaygate, a peer filter against SSRF, quotas,
// metrics, and heartbeats into the gateway. Every flag also reads
// RELAYNODE_<FLAG> from the environment (--gateway-url ⇔
// RELAYNODE_GATEWAY_URL); a flag on the command line wins.
package main

import (
	"context"
	"os"

	"github.com/relaygate/relaygate/internal/cmdline"
)

func main() {
	cmdline.Main("relaynode", func(ctx context.Context) error {
		return run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	})
}
