package depstest

import "testing"

func TestAllowed(t *testing.T) {
	allow := []string{"example.com/a", "example.com/b/..."}
	tests := map[string]bool{
		"example.com/a":     true,
		"example.com/a/sub": false,
		"example.com/ab":    false,
		"example.com/b":     true,
		"example.com/b/x/y": true,
		"example.com/bb":    false,
		"example.com/c":     false,
	}
	for dep, want := range tests {
		if got := allowed(dep, allow); got != want {
			t.Errorf("allowed(%q) = %v, want %v", dep, got, want)
		}
	}
}

func TestOursAreThisModules(t *testing.T) {
	r := Rules{Ours: []string{"relay", "turnrelay/..."}, Allow: []string{"example.com/a"}}
	allow := r.allowList([]string{Module + "self"})
	for dep, want := range map[string]bool{
		Module + "self":               true,
		Module + "relay":              true,
		Module + "turnrelay/turncred": true,
		"example.com/a":               true,
		"relay":                       false,
		Module + "store":              false,
	} {
		if got := allowed(dep, allow); got != want {
			t.Errorf("allowed(%q) = %v, want %v (allow list %v)", dep, got, want, allow)
		}
	}
}

// TestCheckSeesTransitiveImports: this package's own test binary imports
// testing, and depstest itself imports only the standard library.
func TestCheckSeesTransitiveImports(t *testing.T) {
	Check(t, Rules{})
}
