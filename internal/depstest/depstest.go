// Package depstest keeps the dependency picture of STYLE.md true: each
// package's deps_test.go states what it may import, and Check fails the test
// on anything else. It asks the go command, so it sees transitive imports
// too.
package depstest

import (
	"os/exec"
	"strings"
	"testing"
)

// Module is this module's import path with a trailing slash, for Allow lists.
const Module = "github.com/relaygate/relaygate/"

// Rules say what the packages under test may depend on.
type Rules struct {
	// Packages to check, as the go command takes them; default ".".
	Packages []string
	// Allow lists the non-standard packages they may depend on (besides
	// themselves). An entry ending in "/..." allows everything below it.
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
	self, err := exec.Command("go", append([]string{"list", "-f", "{{.ImportPath}}"}, pkgs...)...).Output()
	if err != nil {
		t.Fatalf("go list %v: %v", pkgs, err)
	}
	allow := append(strings.Fields(string(self)), r.Allow...)
	out, err := exec.Command("go", append([]string{"list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}"}, pkgs...)...).Output()
	if err != nil {
		t.Fatalf("go list -deps %v: %v", pkgs, err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if r.InternalOnly && !strings.HasPrefix(dep, Module) {
			continue
		}
		if !allowed(dep, allow) {
			t.Errorf("%v depends on %s, which its deps_test.go does not allow (allowed: standard library, %v)", pkgs, dep, r.Allow)
		}
	}
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
