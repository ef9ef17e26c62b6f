package gateway

import (
	"fmt"
	"net/netip"
	"testing"
)

func prefix(i int) netip.Prefix {
	return netip.MustParsePrefix(fmt.Sprintf("10.%d.%d.0/24", i/256, i%256))
}

func TestPrimaries(t *testing.T) {
	p := newPrimaries(100)
	if got := p.Get(prefix(1)); got != "" {
		t.Fatalf("Get(unknown) = %q", got)
	}
	p.Set(prefix(1), "fra-1")
	p.Set(prefix(1), "ams-2")
	if got := p.Get(prefix(1)); got != "ams-2" {
		t.Errorf("Get() = %q, want the last set", got)
	}
	// Bounded: thousands of prefixes keep at most two generations.
	for i := range 5000 {
		p.Set(prefix(i), "r")
		if n := p.Len(); n > 200 {
			t.Fatalf("after %d sets Len() = %d, want <= 200", i+1, n)
		}
	}
	// A recently set prefix survives one rotation.
	p.Set(prefix(7), "keep-1")
	for i := range 99 {
		p.Set(prefix(10000+i), "x")
	}
	if got := p.Get(prefix(7)); got != "keep-1" {
		t.Errorf("recent prefix forgotten after one generation: %q", got)
	}
}
