// Package depstest keeps the dependency picture of STYLE.md true: each
// package's deps_test.go states what it may import, and Check fails the test
// on anything else. It asks the go command, so it sees transitive imports
// too.
package depstest

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// Module is this module's import path with a trailing slash, for Allow lists.
const Module = "github.com/relaygate/relaygate/"

// Rules say what the packages under test may depend on.
type Rules struct {
	// Packages to check, as the go command takes them; default ".".
	Packages []string
	// Ours lists this module's packages they may depend on, by their
	// path inside the module ("relay", "turnrelay/turncred").
	Ours []string
	// Allow lists the other non-standard packages they may depend on
	// (besides themselves), by import path. An entry ending in "/..."
	// allows everything below it, in Ours too.
	Allow []string
	// InternalOnly restricts only this module's packages; outside modules
	// are then all allowed.
	InternalOnly bool
}

// Check fails t for every dependency the rules do not allow.
func Check(t *testing.T, r Rules) {
	t.Helper()
	pkgs := r.Packages
	if len(pkgs) == 0 {
		pkgs = []string{"."}
	}
	allow := r.allowList(goList(t, pkgs, "-f", "{{.ImportPath}}"))
	for _, dep := range goList(t, pkgs, "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}") {
		if r.InternalOnly && !strings.HasPrefix(dep, Module) {
			continue
		}
		if !allowed(dep, allow) {
			t.Errorf("%v depends on %s, which its deps_test.go does not allow (allowed: standard library, %v)", pkgs, dep, allow)
		}
	}
}

// goList runs go list with flags over pkgs and returns the words it prints.
func goList(t *testing.T, pkgs []string, flags ...string) []string {
	t.Helper()
	args := slices.Concat([]string{"list"}, flags, pkgs)
	out, err := exec.CommandContext(t.Context(), "go", args...).Output() //nolint:gosec // G204: the go command on the caller's own package patterns
	if err != nil {
		t.Fatalf("go %s: %v", strings.Join(args, " "), err)
	}
	return strings.Fields(string(out))
}

// allowList is every entry the rules allow, self (the packages under
// test) first, as import paths.
func (r Rules) allowList(self []string) []string {
	allow := slices.Concat(self, r.Allow)
	for _, p := range r.Ours {
		allow = append(allow, Module+p)
	}
	return allow
}

func allowed(dep string, allow []string) bool {
	for _, a := range allow {
		if dep == a {
			return true
		}
		if base, ok := strings.CutSuffix(a, "/..."); ok && (dep == base || strings.HasPrefix(dep, base+"/")) {
			return true
		}
	}
	return false
}
