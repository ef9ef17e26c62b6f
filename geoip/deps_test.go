package geoip

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps geoip's imports to the standard library, the
// MaxMind readers (and what they need) and selector's value types.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	allowed := []string{
		"github.com/relaygate/relaygate/geoip",
		"github.com/relaygate/relaygate/selector",
		"github.com/oschwald/geoip2-golang/v2",
		"github.com/oschwald/maxminddb-golang/v2",
		"golang.org/x/sys/",
	}
	for _, dep := range strings.Fields(string(out)) {
		ok := false
		for _, a := range allowed {
			if dep == a || strings.HasPrefix(dep, strings.TrimSuffix(a, "/")+"/") {
				ok = true
			}
		}
		if !ok {
			t.Errorf("geoip imports %s; allowed are the standard library and %v", dep, allowed)
		}
	}
}
