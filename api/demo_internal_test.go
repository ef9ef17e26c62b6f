package api

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzLoopbackHost: any Host header is judged without a panic, and one
// judged loopback names localhost or a loopback address, with or without a
// port.
func FuzzLoopbackHost(f *testing.F) {
	for _, s := range []string{"localhost", "localhost:8080", "127.0.0.1", "127.0.0.1:80", "[::1]", "[::1]:8080",
		"[::ffff:127.0.0.1]:1", "127.1", "rebound.example", "192.0.2.1:8080", "", ":", "[", "[::1", "localhost.:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		if !loopbackHost(host) {
			return
		}
		h := host
		if i := strings.LastIndex(h, ":"); i >= 0 && !strings.HasSuffix(h, "]") && strings.Count(h, ":") == 1 {
			h = h[:i]
		} else if strings.HasPrefix(h, "[") {
			if i := strings.LastIndex(h, "]"); i > 0 {
				h = h[1:i]
			}
		}
		if h == "localhost" {
			return
		}
		a, err := netip.ParseAddr(h)
		if err != nil || !a.Unmap().IsLoopback() {
			t.Fatalf("loopbackHost(%q) = true, but %q is not a loopback address", host, h)
		}
	})
}
