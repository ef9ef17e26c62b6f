// Command relaysim proves that relay selection picks well. It builds a
// synthetic world (relays at real city coordinates, clients near cities in
// shared /24 prefixes, a ground-truth RTT model that is not the selector's),
// lets clients report what they could really measure, and prints the regret
// of three strategies: geo-only, measured and the shipped ranking (measured
// plus hysteresis and exploration, as cmd/relaygate calls selector.Rank).
//
// It does no I/O beyond printing, and the same seed prints the same table.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "relaysim:", err)
		os.Exit(1)
	}
}

// run parses args, simulates, and prints the report to stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	if cfg.FirstCall {
		fc, err := simulateFirstCalls(ctx, cfg)
		if err != nil {
			return err
		}
		return fc.print(stdout)
	}
	res, err := simulate(ctx, cfg)
	if err != nil {
		return err
	}
	return res.print(stdout)
}
