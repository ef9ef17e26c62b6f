// Command relayctl is the command line of relaygate for client developers
// and operators: it gets TURN credentials from the gateway, measures relays
// from where it runs, checks a TURN server end to end, lists and drains the
// registry, and mints JWTs for trying the API.
//
// Every flag also reads an environment variable (--gateway ⇔
// RELAYCTL_GATEWAY); a flag on the command line wins. Exit codes are stable:
// 0 ok, 1 the command found a problem, 2 usage error, 3 the gateway answered
// with an error, 4 network error.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
