package turnrelay

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps turnrelay off the gateway's packages: it may use turncred,
// pion, prometheus and golang.org/x, and has its own heartbeat wire structs.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".", "./relaytest").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const self = "github.com/relaygate/relaygate/"
	allowed := []string{self + "turnrelay", "github.com/pion/", "github.com/prometheus/", "golang.org/x/",
		"google.golang.org/protobuf/", "github.com/beorn7/perks/", "github.com/cespare/xxhash/", "github.com/munnerz/goautoneg",
		"go.yaml.in/yaml/", "github.com/wlynxg/anet", "github.com/kylelemons/godebug"}
	for _, p := range strings.Fields(string(out)) {
		ok := false
		for _, a := range allowed {
			if strings.HasPrefix(p, a) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("turnrelay imports %s", p)
		}
		for _, bad := range []string{"api", "store", "selector", "probe", "openapi"} {
			if p == self+bad || strings.HasPrefix(p, self+bad+"/") {
				t.Errorf("turnrelay imports %s; it must not depend on the gateway", p)
			}
		}
	}
}
