package cmdline

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Main runs a command's run with a context that SIGINT and SIGTERM cancel,
// then exits: 0 when run returns nil or flag.ErrHelp (the flag package has
// printed the help), else 1 after printing "name: error" to stderr.
func Main(name string, run func(ctx context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	os.Exit(exitCode(name, err, os.Stderr))
}

// exitCode is Main's exit status for run's err, which it reports on stderr.
func exitCode(name string, err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, name+":", err)
	return 1
}
