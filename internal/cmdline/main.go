package cmdline

import (
	"context"
	"errors"
	"flag"
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
	code, msg := exit(name, err)
	if msg != "" {
		_, _ = os.Stderr.WriteString(msg) // nowhere left to report a failure to
	}
	os.Exit(code)
}

// exit is Main's exit status for run's err, and the line it prints.
func exit(name string, err error) (code int, msg string) {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0, ""
	}
	return 1, name + ": " + err.Error() + "\n"
}
