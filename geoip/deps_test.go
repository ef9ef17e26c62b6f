package geoip

import (
	"testing"

	"github.com/relaygate/relaygate/internal/depstest"
)

// TestDeps: geoip reads mmdb files and knows relay's Location; it follows
// the file with internal/filepoll, nothing else of ours.
func TestDeps(t *testing.T) {
	depstest.Check(t, depstest.Rules{Ours: []string{"relay", "internal/filepoll"}, Allow: []string{
		"github.com/oschwald/geoip2-golang/v2/...",
		"github.com/oschwald/maxminddb-golang/v2/...",
		"golang.org/x/sys/...",
	}})
}
