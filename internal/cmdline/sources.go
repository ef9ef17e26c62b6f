package cmdline

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// The flags Define adds.
const (
	ConfigFlag  = "config"  // names the YAML config file
	VersionFlag = "version" // prints the version and exits
)

// ErrVersion is what Sources.Parse returns after --version; Main then
// prints Version and exits 0.
var ErrVersion = errors.New("version requested")

// Define adds --config and --version to fs.
func Define(fset *flag.FlagSet) {
	fset.String(ConfigFlag, "", "YAML file of flag settings, one key per flag name without dashes (flags and the environment win over it)")
	fset.Bool(VersionFlag, false, "print the version and exit")
}

// Sources read a command's flags from, strongest first: the command line,
// the environment (Env), and the YAML config file that --config or its
// environment twin names (ParseFile). fs must have the flags Define adds.
type Sources struct {
	Env Env
	// Lists are the flags that take a comma-separated list, which the
	// file may also give as a YAML list.
	Lists map[string]bool
	// ReadFile reads the config file; default: os.ReadFile's like, at
	// most MaxFileSize+1 bytes.
	ReadFile func(name string) ([]byte, error)
}

// ParseCommand is a daemon's whole command line: it adds --config and
// --version to fs (Define), sets fs.Usage to s.Usage with about, parses
// args from every source (Parse) and refuses positional arguments, which
// no daemon takes.
func (s Sources) ParseCommand(fset *flag.FlagSet, args []string, about string) error {
	Define(fset)
	fset.Usage = s.Usage(fset, about)
	if err := s.Parse(fset, args); err != nil {
		return err
	}
	if fset.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fset.Arg(0))
	}
	return nil
}

// Parse parses args into fs, then sets every flag the command line did not
// from its environment twin, and every flag neither set from the config
// file. It returns flag.ErrHelp after --help, ErrVersion after --version,
// and otherwise every refusal of the environment and the file, joined.
func (s Sources) Parse(fset *flag.FlagSet, args []string) error {
	if err := fset.Parse(args); err != nil {
		return err
	}
	if v := fset.Lookup(VersionFlag); v != nil && v.Value.String() == "true" {
		return ErrVersion
	}
	env := s.Env
	env.Skip = union(env.Skip, map[string]bool{VersionFlag: true})
	given := Given(fset)
	envErr := env.Apply(fset, given)
	path := fset.Lookup(ConfigFlag).Value.String()
	if path == "" {
		return envErr
	}
	read := s.ReadFile
	if read == nil {
		read = readFile
	}
	data, err := read(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = fmt.Errorf("%s: %w", pe.Op, pe.Err) // the name is said once, by FileError
		}
		return errors.Join(envErr, &FileError{File: path, Err: err})
	}
	settings, parseErr := ParseFile(path, data, fset, FileRules{Lists: s.Lists,
		Skip: union(env.Skip, map[string]bool{ConfigFlag: true})})
	// The command line and the environment win over the file.
	stronger := map[string]bool{}
	fset.VisitAll(func(f *flag.Flag) {
		stronger[f.Name] = given[f.Name] || (!env.Skip[f.Name] && env.Getenv(env.Name(f.Name)) != "")
	})
	applyErr := ApplyFile(fset, path, settings, stronger, env.Secret)
	return errors.Join(envErr, parseErr, applyErr)
}

// readFile reads at most MaxFileSize+1 bytes of name, enough for
// ParseFile to refuse a larger file without reading it all.
func readFile(name string) ([]byte, error) {
	f, err := os.Open(name) //nolint:gosec // G304: the file the operator named in --config
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxFileSize+1))
}

func union(a, b map[string]bool) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = out[k] || v
	}
	return out
}

// PrintFlags writes fs's flags in name order, each with its type, usage,
// default and environment twin (none for e.Skip's, and --version). A
// secret flag's default is never shown.
func (e Env) PrintFlags(w io.Writer, fset *flag.FlagSet) {
	fset.VisitAll(func(f *flag.Flag) { // VisitAll goes in name order
		typ, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if typ != "" {
			line += " " + typ
		}
		fmt.Fprintf(w, "%s\n        %s", line, strings.ReplaceAll(usage, "\n", "\n        "))
		if !e.Secret[f.Name] && f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && f.DefValue != "0s" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		if !e.Skip[f.Name] && f.Name != VersionFlag {
			fmt.Fprintf(w, " [$%s]", e.Name(f.Name))
		}
		fmt.Fprintln(w)
	})
}

// Usage returns fs's help for a daemon: a usage line, about, how the
// sources rank, every flag with its environment twin, and the exit
// statuses. It writes to fs's output.
func (s Sources) Usage(fset *flag.FlagSet, about string) func() {
	return func() {
		w := fset.Output()
		fmt.Fprintf(w, "Usage: %s [flags]\n\n%s\n\n", fset.Name(), strings.TrimSpace(about))
		fmt.Fprint(w, `Every flag can also be set by the environment variable shown beside it, or
in the YAML file that --config names, under the flag's name without dashes.
The command line wins over the environment, which wins over the file.

Flags:
`)
		s.Env.PrintFlags(w, fset)
		fmt.Fprint(w, `
Exit status: 0 stopped cleanly (or printed --help or --version), 1 failed
while starting or running, 2 refused its flags, environment or config file.
`)
	}
}
