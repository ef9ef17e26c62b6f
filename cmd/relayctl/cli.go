package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/relaygate/relaygate/internal/cmdline"
)

// Exit codes. Scripts rely on them: never renumber, only add.
const (
	exitOK          = 0   // the command did what was asked
	exitProblem     = 1   // the command ran and found a problem (nothing works, no relay answered)
	exitUsage       = 2   // bad command line: unknown command or flag, bad value, missing argument
	exitAPI         = 3   // the gateway answered with an error (non-2xx, problem+json)
	exitNetwork     = 4   // the gateway could not be reached (refused, timeout, DNS, TLS)
	exitInterrupted = 130 // interrupted by SIGINT or SIGTERM
)

const envPrefix = "RELAYCTL_"

// usageError is a bad command line; exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// problemError means the command ran and found a problem it already
// reported on stdout; exit 1. msg, when set, goes to stderr.
type problemError struct{ msg string }

func (e problemError) Error() string { return e.msg }

// errHelpShown means help was asked for and printed; exit 0.
var errHelpShown = errors.New("help shown")

// secretFlags hold secrets: their values never appear in errors or help.
var secretFlags = map[string]bool{"token": true, "secret": true, "private-key": true}

// command is one subcommand.
type command struct {
	name    string
	args    string // synopsis after the flags
	summary string // one line for `relayctl help`
	help    string // paragraphs for `relayctl help <name>`
	// scoped are flags whose env twin carries the command's name because
	// another command uses the same flag name for something else.
	scoped map[string]bool
	// setup registers the command's flags on fs and returns what runs it
	// with the positional arguments once fs is parsed.
	setup func(fs *flag.FlagSet) func(ctx context.Context, c *cli, args []string) error
}

func commands() []*command {
	return []*command{credentialsCmd, probeCmd, checkCmd, relaysCmd, drainCmd, undrainCmd, revokeCmd, revocationsCmd, usageCmd, tokenCmd}
}

func findCommand(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

// cli is one invocation: the streams, environment and global flags.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	gateway string
	token   string
	timeout time.Duration

	pre      *flag.FlagSet   // global flags given before the command
	preGiven map[string]bool // names set in pre
}

// run is relayctl without the process: tests call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	err := c.dispatch(ctx, args)
	return c.exit(ctx, err)
}

func (c *cli) exit(ctx context.Context, err error) int {
	var ue usageError
	var ae *apiError
	var ne *netError
	var pe problemError
	switch {
	case err == nil, errors.Is(err, errHelpShown):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(c.stderr, "relayctl: %s\nRun 'relayctl help' for usage.\n", ue.msg)
		return exitUsage
	case errors.As(err, &ae):
		fmt.Fprintf(c.stderr, "relayctl: %s\n", ae)
		return exitAPI
	case errors.As(err, &ne):
		fmt.Fprintf(c.stderr, "relayctl: %s\n", ne)
		return exitNetwork
	case ctx.Err() != nil:
		fmt.Fprintln(c.stderr, "relayctl: interrupted")
		return exitInterrupted
	case errors.As(err, &pe):
		if pe.msg != "" {
			fmt.Fprintf(c.stderr, "relayctl: %s\n", pe.msg)
		}
		return exitProblem
	default:
		fmt.Fprintf(c.stderr, "relayctl: %s\n", err)
		return exitProblem
	}
}

func (c *cli) dispatch(ctx context.Context, args []string) error {
	c.pre = flag.NewFlagSet("relayctl", flag.ContinueOnError)
	(&cli{}).addGlobals(c.pre) // its own variables: the command's FlagSet resets c's
	showVersion := c.pre.Bool(cmdline.VersionFlag, false, "print relayctl's version and exit")

	c.pre.SetOutput(io.Discard)
	c.pre.Usage = func() {}
	if err := c.pre.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.mainHelp(c.stdout)
			return errHelpShown
		}
		return usageError{err.Error()}
	}
	if *showVersion {
		fmt.Fprint(c.stdout, cmdline.Version("relayctl"))
		return nil
	}
	c.preGiven = map[string]bool{}
	c.pre.Visit(func(f *flag.Flag) { c.preGiven[f.Name] = true })
	rest := c.pre.Args()
	if len(rest) == 0 {
		c.mainHelp(c.stderr)
		return usageError{"no command given"}
	}
	name, rest := rest[0], rest[1:]
	switch name {
	case "help":
		if len(rest) == 0 {
			c.mainHelp(c.stdout)
			return errHelpShown
		}
		cmd := findCommand(rest[0])
		if cmd == nil {
			return usagef("help: unknown command %q", rest[0])
		}
		c.commandHelp(c.stdout, cmd)
		return errHelpShown
	case "version":
		fmt.Fprint(c.stdout, cmdline.Version("relayctl"))
		return nil
	}
	cmd := findCommand(name)
	if cmd == nil {
		return usagef("unknown command %q", name)
	}
	fs := c.flags(cmd)
	runCmd := cmd.setup(fs)
	pos, err := c.parse(cmd, fs, rest)
	if err != nil {
		return err
	}
	return runCmd(ctx, c, pos)
}

// version is relayctl's in its User-Agent; --version and the version
// command print the build's (cmdline.Version).
const version = "0.1.0"

func (c *cli) addGlobals(fs *flag.FlagSet) {
	fs.StringVar(&c.gateway, "gateway", "http://127.0.0.1:8080", "relaygate base URL")
	fs.StringVar(&c.token, "token", "", "bearer JWT for the gateway: a user token (credentials, probe, check) or an admin token (relays, drain)")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "limit for each request to the gateway")
}

// envName is a flag's environment twin: RELAYCTL_<FLAG>, or
// RELAYCTL_<COMMAND>_<FLAG> for a scoped flag.
func envName(cmd *command, flagName string) string {
	if cmd != nil && cmd.scoped[flagName] {
		return cmdline.EnvName(envPrefix+strings.ToUpper(cmd.name)+"_", flagName)
	}
	return cmdline.EnvName(envPrefix, flagName)
}

// flags returns a FlagSet for cmd with the global flags registered, so they
// may also follow the command name.
func (c *cli) flags(cmd *command) *flag.FlagSet {
	fs := flag.NewFlagSet("relayctl "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	c.addGlobals(fs)
	return fs
}

// parse parses args for cmd, flags and positional arguments in any order
// ("--" ends flags), then fills every flag not given from its environment
// twin. It returns the positional arguments.
func (c *cli) parse(cmd *command, fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				c.commandHelp(c.stdout, cmd)
				return nil, errHelpShown
			}
			return nil, usagef("%s: %v", cmd.name, err)
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		if args = rest; len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	given := cmdline.Given(fs)
	// Global flags given before the command name.
	for name := range c.preGiven {
		if !given[name] {
			_ = fs.Set(name, c.pre.Lookup(name).Value.String())
			given[name] = true
		}
	}
	env := cmdline.Env{Getenv: c.getenv, Name: func(f string) string { return envName(cmd, f) }, Secret: secretFlags}
	if err := env.Apply(fs, given); err != nil {
		return nil, usageError{err.Error()}
	}
	return pos, nil
}

func (c *cli) mainHelp(w io.Writer) {
	fmt.Fprint(w, `relayctl is the command line of relaygate: TURN credentials, relay measurements,
end-to-end TURN checks and the relay registry.

Usage:
  relayctl [global flags] <command> [flags] [arguments]

Commands:
`)
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	for _, cmd := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", cmd.name, cmd.summary)
	}
	fmt.Fprintf(tw, "  %s\t%s\n", "help", "show help for relayctl or one command")
	fmt.Fprintf(tw, "  %s\t%s\n", "version", "print relayctl's version (as --version does)")
	_ = tw.Flush()
	fmt.Fprint(w, "\nGlobal flags (also accepted after the command):\n")
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	(&cli{}).addGlobals(fs)
	printFlags(w, nil, fs, nil)
	fmt.Fprint(w, exitCodesHelp)
	fmt.Fprint(w, "\nRun 'relayctl help <command>' or 'relayctl <command> --help' for a command's flags.\n")
}

const exitCodesHelp = `
Every flag also reads an environment variable, shown beside it; a flag on the
command line wins over the environment.

Exit codes:
  0    ok
  1    the command ran and found a problem (no relay works, no relay answered)
  2    usage error (unknown command or flag, bad value, missing argument)
  3    the gateway answered with an error (HTTP status, problem title and detail on stderr)
  4    network error reaching the gateway (refused, timeout, DNS, TLS)
  130  interrupted
`

func (c *cli) commandHelp(w io.Writer, cmd *command) {
	fmt.Fprintf(w, "Usage:\n  relayctl %s [flags] %s\n\n%s\n", cmd.name, cmd.args, strings.TrimSpace(cmd.help))
	fs := (&cli{}).flags(cmd) // a throwaway cli, so defaults are the true ones
	cmd.setup(fs)
	globals := map[string]bool{"gateway": true, "token": true, "timeout": true}
	fmt.Fprint(w, "\nFlags:\n")
	printFlags(w, cmd, fs, func(name string) bool { return !globals[name] })
	fmt.Fprint(w, "\nGlobal flags:\n")
	printFlags(w, cmd, fs, func(name string) bool { return globals[name] })
	fmt.Fprint(w, exitCodesHelp)
}

// printFlags lists fs's flags (those keep accepts) with their env twins.
// Secret flags never show a default.
func printFlags(w io.Writer, cmd *command, fs *flag.FlagSet, keep func(string) bool) {
	var names []string
	fs.VisitAll(func(f *flag.Flag) {
		if keep == nil || keep(f.Name) {
			names = append(names, f.Name)
		}
	})
	sort.Strings(names)
	for _, n := range names {
		f := fs.Lookup(n)
		typ, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if typ != "" {
			line += " " + typ
		}
		fmt.Fprintf(w, "%s\n        %s", line, usage)
		if !secretFlags[f.Name] && f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && f.DefValue != "0s" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, " [$%s]\n", envName(cmd, f.Name))
	}
}
