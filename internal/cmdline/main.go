package cmdline

import (
	"context"
	"errors"
	"flag"
	"os"
	"os/signal"
	"syscall"
)

// Exit statuses of the daemons, as relayctl's: scripts and init systems
// tell a bad configuration from a failure at run time.
const (
	ExitOK      = 0 // stopped cleanly, or printed --help or --version
	ExitFailure = 1 // failed while starting or running
	ExitUsage   = 2 // refused its command line, environment or config file
)

// UsageError is a command line, environment or config file that a command
// refuses: Main exits ExitUsage.
type UsageError struct{ Err error }

// Error is the refusal.
func (e *UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the refusal.
func (e *UsageError) Unwrap() error { return e.Err }

// Usage marks err, from reading the configuration, as a *UsageError; nil
// stays nil.
func Usage(err error) error {
	if err == nil {
		return nil
	}
	return &UsageError{Err: err}
}

// Main runs a command's run with a context that SIGINT and SIGTERM cancel,
// then exits: 0 when run returns nil or flag.ErrHelp (the flag package has
// printed the help), 0 after printing Version to stdout when it returns
// ErrVersion, else 2 for a *UsageError and 1 for anything else, after
// printing "name: error" to stderr.
func Main(name string, run func(ctx context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	code, msg := exit(name, err)
	switch {
	case errors.Is(err, ErrVersion):
		_, _ = os.Stdout.WriteString(Version(name))
	case msg != "":
		_, _ = os.Stderr.WriteString(msg) // nowhere left to report a failure to
	}
	os.Exit(code)
}

// exit is Main's exit status for run's err, and the line it prints.
func exit(name string, err error) (code int, msg string) {
	var ue *UsageError
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp) || errors.Is(err, ErrVersion):
		return ExitOK, ""
	case errors.As(err, &ue):
		return ExitUsage, name + ": " + err.Error() + "\n"
	default:
		return ExitFailure, name + ": " + err.Error() + "\n"
	}
}
