package gateway

import (
	"fmt"
	"testing"
)

func TestRegionLabelsAreBounded(t *testing.T) {
	var l regionLabels
	if got := l.label(""); got != "none" {
		t.Errorf(`label("") = %q, want "none"`, got)
	}
	for i := range maxRegionLabels {
		r := fmt.Sprintf("r%d", i)
		if got := l.label(r); got != r {
			t.Fatalf("label(%q) = %q, want it kept", r, got)
		}
	}
	if got := l.label("one-too-many"); got != "other" {
		t.Errorf("label past the cap = %q, want other", got)
	}
	if got := l.label("r0"); got != "r0" {
		t.Errorf("label of a region seen before the cap = %q, want r0", got)
	}
}
