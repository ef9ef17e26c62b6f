package cmdline

import (
	"errors"
	"flag"
	"fmt"
	"strings"
)

// EnvName is the environment twin of the flag named flagName under prefix:
// EnvName("RELAYGATE_", "redis-url") is RELAYGATE_REDIS_URL.
func EnvName(prefix, flagName string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Env sets flags from their environment twins.
type Env struct {
	// Getenv reads one variable; "" is unset. Commands pass os.Getenv,
	// tests a map's lookup.
	Getenv func(string) string
	// Name is a flag's twin, usually EnvName with the command's prefix.
	Name func(flagName string) string
	// Secret names the flags whose refused value shows neither the value
	// nor the flag's reason: VAR: invalid value.
	Secret map[string]bool
	// HideValues leaves every refused value out of errors, keeping the
	// flag's reason (VAR: reason), for commands whose flags are all of
	// the flag package's types, whose reasons never repeat the value.
	// Otherwise an error shows it: VAR="value": reason.
	HideValues bool
	// Skip names the flags that have no twin (--version).
	Skip map[string]bool
}

// Apply sets every flag of fs not in given from its twin, where the twin
// is set, and returns one *EnvError per value a flag refused, joined. A
// command that applies it after fs.Parse passes Given(fs), so the command
// line wins; one that applies it before passes nil.
func (e Env) Apply(fs *flag.FlagSet, given map[string]bool) error {
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || e.Skip[f.Name] {
			return
		}
		name := e.Name(f.Name)
		v := e.Getenv(name)
		if v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			ee := &EnvError{Env: name, Value: v, Err: err}
			switch {
			case e.Secret[f.Name]:
				ee.Value, ee.Err = "", nil
			case e.HideValues:
				ee.Value = ""
			}
			errs = append(errs, ee)
		}
	})
	return errors.Join(errs...)
}

// Given is the set of fs's flags that its command line set.
func Given(fs *flag.FlagSet) map[string]bool {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	return given
}

// EnvError is an environment variable whose value its flag refused. What
// it shows follows Env's rules: Value and Err are empty where they must
// not be shown.
type EnvError struct {
	Env   string // the variable, e.g. RELAYNODE_MAX_BPS
	Value string // its value; "" when hidden
	Err   error  // the flag's reason; nil when hidden
}

// Error names the variable and shows what Env's rules allow of the rest.
func (e *EnvError) Error() string {
	switch {
	case e.Err == nil:
		return e.Env + ": invalid value"
	case e.Value == "":
		return e.Env + ": " + e.Err.Error()
	default:
		return fmt.Sprintf("%s=%q: %v", e.Env, e.Value, e.Err)
	}
}

// Unwrap returns the flag's reason.
func (e *EnvError) Unwrap() error { return e.Err }
