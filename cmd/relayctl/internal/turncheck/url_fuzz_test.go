package turncheck

import (
	"strings"
	"testing"
)

// FuzzParseURL: any input either fails cleanly or yields a URL with a host,
// a port in range and a known transport, which parses again to the same.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"turn:203.0.113.5:3478?transport=udp", "turn:[2001:db8::5]:3478?transport=tcp",
		"turns:relay.example:5349?transport=tcp", "turn:relay.example", "turn:[::1", "turns:x:0", "stun:x:1",
		"turn:a:99999?transport=sctp", "turn:%zz:1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURL(s)
		if err != nil {
			return
		}
		if u.Host == "" || u.Port < 1 || u.Port > 65535 || strings.ContainsAny(u.Host, " /?#") {
			t.Fatalf("ParseURL(%q) = %+v: invalid fields accepted", s, u)
		}
		again, err := ParseURL(u.String())
		if err != nil || again.Addr() != u.Addr() {
			t.Fatalf("ParseURL(%q).String() = %q does not parse back the same: %+v, %v", s, u.String(), again, err)
		}
	})
}
