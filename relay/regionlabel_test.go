package relay_test

import (
	"fmt"
	"testing"

	"github.com/relaygate/relaygate/relay"
)

func TestRegionLabelsAreBounded(t *testing.T) {
	var l relay.RegionLabels
	if got := l.Label(""); got != "none" {
		t.Errorf(`Label("") = %q, want "none"`, got)
	}
	for i := range relay.MaxRegionLabels {
		r := fmt.Sprintf("r%d", i)
		if got := l.Label(r); got != r {
			t.Fatalf("Label(%q) = %q, want it kept", r, got)
		}
	}
	if got := l.Label("one-too-many"); got != "other" {
		t.Errorf("Label past the cap = %q, want other", got)
	}
	if got := l.Label("r0"); got != "r0" {
		t.Errorf("Label of a region seen before the cap = %q, want r0", got)
	}
}
