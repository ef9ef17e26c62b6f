// Command relaynode is relaygate's TURN relay: RFC 8656 over UDP, TCP and
// TLS, credentials minted by relaygate, a peer filter against SSRF, quotas,
// metrics, and heartbeats into the gateway. Every flag also reads
// RELAYNODE_<FLAG> from the environment (--gateway-url ⇔
// RELAYNODE_GATEWAY_URL); a flag on the command line wins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "relaynode:", err)
		os.Exit(1)
	}
}
