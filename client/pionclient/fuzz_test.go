package pionclient_test

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/relaygate/relaygate/client/pionclient"
	"github.com/relaygate/relaygate/wire"
)

// naiveSafe is an oracle independent of pion's parser: a candidate as a
// browser would split it (fields separated by blanks) is safe when its type
// is relay and its raddr, if any, is an unspecified address with rport 0
// or 9 (BlankRelatedPort).
func naiveSafe(c string) bool {
	c = strings.TrimPrefix(strings.TrimPrefix(c, "a="), "candidate:")
	f := strings.Fields(c)
	if len(f) < 8 || f[6] != "typ" || f[7] != "relay" {
		return false
	}
	for i := 8; i < len(f); i++ {
		switch f[i] {
		case "raddr":
			if i+1 >= len(f) {
				return false
			}
			a, err := netip.ParseAddr(f[i+1])
			if err != nil || !a.IsUnspecified() {
				return false
			}
		case "rport":
			if i+1 >= len(f) || (f[i+1] != "0" && f[i+1] != "9") {
				return false
			}
		}
	}
	return true
}

var candidateSeeds = []string{
	"candidate:3994473181 1 udp 511 127.0.0.2 53896 typ relay ufrag EztbNVvhVZbzGALo generation 0",
	"candidate:3994473181 1 udp 511 127.0.0.2 60532 typ relay raddr 127.0.0.1 rport 58274 generation 0",
	"candidate:3994473181 1 udp 1023 127.0.0.2 60606 typ relay raddr 0.0.0.0 rport 33400",
	"candidate:1 1 udp 2130706431 192.168.1.20 50000 typ host",
	"candidate:2 1 udp 1694498815 198.51.100.1 50000 typ srflx raddr 192.168.1.20 rport 50000",
	"candidate:3 1 udp 16777215 203.0.113.5 40000 typ relay raddr 0.0.0.0 rport 0",
	"candidate:3 1 udp 16777215 2001:db8::5 40000 typ relay raddr :: rport 0",
	"candidate:4 1 tcp 1 10.0.0.1 9 typ host tcptype active",
	"3 1 udp 16777215 203.0.113.5 40000 typ relay raddr host.local rport 0",
	"",
}

// FuzzCheckCandidate: CheckCandidate never panics, and whatever it passes
// is safe by the naive oracle, so no peer that splits on blanks reads a
// local address or another type out of it.
func FuzzCheckCandidate(f *testing.F) {
	for _, s := range candidateSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := pionclient.CheckCandidate(s)
		if err != nil {
			if !errors.Is(err, pionclient.ErrUnsafeCandidate) {
				t.Fatalf("CheckCandidate(%q) = %v, not ErrUnsafeCandidate", s, err)
			}
			return
		}
		if !naiveSafe(s) {
			t.Fatalf("CheckCandidate(%q) = nil, but a blank-splitting parser reads it as unsafe", s)
		}
	})
}

const sdpSeed = "v=0\r\no=- 123 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" +
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n" +
	"a=candidate:3994473181 1 udp 511 127.0.0.2 53896 typ relay ufrag x generation 0\r\na=end-of-candidates\r\n"

// FuzzCheckSDP: CheckSDP never panics, and when it passes, every line that
// a line-splitting reader takes for a candidate is safe by the naive
// oracle, and no c= or o= line names a specified address.
func FuzzCheckSDP(f *testing.F) {
	f.Add(sdpSeed)
	f.Add(strings.Replace(sdpSeed, "generation 0", "raddr 127.0.0.1 rport 5000 generation 0", 1))
	f.Add(strings.Replace(sdpSeed, "c=IN IP4 0.0.0.0", "c=IN IP4 192.168.1.20", 1))
	f.Add(strings.ReplaceAll(sdpSeed, "\r\n", "\n"))
	f.Add(sdpSeed + "a=rtcp:9 IN IP4 10.0.0.1\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		err := pionclient.CheckSDP(s)
		if err != nil {
			if !errors.Is(err, pionclient.ErrUnsafeCandidate) && !errors.Is(err, pionclient.ErrUnsafeSDP) {
				t.Fatalf("CheckSDP(%q) = %v, neither ErrUnsafeCandidate nor ErrUnsafeSDP", s, err)
			}
			return
		}
		for _, line := range strings.Split(s, "\n") {
			line = strings.TrimSuffix(line, "\r")
			if v, ok := strings.CutPrefix(line, "a=candidate:"); ok && !naiveSafe(v) {
				t.Fatalf("CheckSDP passed %q with unsafe candidate line %q", s, line)
			}
			if v, ok := strings.CutPrefix(line, "c="); ok && !naiveBlankAddr(v) {
				t.Fatalf("CheckSDP passed %q with connection line %q", s, line)
			}
		}
	})
}

// naiveBlankAddr: "IN IP4 <addr>" has no address, or an unspecified one.
func naiveBlankAddr(v string) bool {
	f := strings.Fields(v)
	if len(f) < 3 {
		return true
	}
	a, err := netip.ParseAddr(strings.Split(f[2], "/")[0])
	return err == nil && a.IsUnspecified()
}

// FuzzDecodeAnswer: any answer from the gateway gives credentials fit for a
// relay-only call or an error, never a panic; an error for a status other
// than 200 is a *GatewayError with a bounded Retry-After.
func FuzzDecodeAnswer(f *testing.F) {
	f.Add(200, "application/json", "", goodAnswer)
	f.Add(429, "application/problem+json", "30", `{"type":"urn:relaygate:problem:rate-limited","status":429}`)
	f.Add(503, "application/problem+json", "Wed, 25 Nov 2026 12:00:30 GMT", `{"type":`)
	f.Add(200, "application/json", "", `{"ice_transport_policy":"relay","ice_servers":[{"urls":["turn:[::1]:3478?transport=udp"],"username":"u","credential":"c"}]}`)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, status int, contentType, retryAfter, body string) {
		h := http.Header{"Content-Type": {contentType}, "Retry-After": {retryAfter}}
		creds, err := pionclient.DecodeAnswer(status, h, []byte(body), now)
		if status != http.StatusOK {
			var ge *pionclient.GatewayError
			if !errors.As(err, &ge) || ge.Status != status || ge.RetryAfter < 0 || ge.RetryAfter > time.Hour {
				t.Fatalf("DecodeAnswer(%d) = %v", status, err)
			}
			_ = ge.Error()
			return
		}
		if err != nil {
			if !errors.Is(err, pionclient.ErrBadAnswer) {
				t.Fatalf("DecodeAnswer(200, %q) = %v, not ErrBadAnswer", body, err)
			}
			return
		}
		if creds.ICETransportPolicy != wire.ICETransportPolicyRelay || len(creds.ICEServers) == 0 {
			t.Fatalf("DecodeAnswer(200, %q) accepted %+v", body, creds)
		}
		for _, s := range creds.ICEServers {
			if len(s.URLs) == 0 || s.Username == "" || s.Credential == "" {
				t.Fatalf("DecodeAnswer(200, %q) accepted server %+v", body, s)
			}
		}
	})
}

// FuzzParseRetryAfter: any Retry-After gives 0..maxRetryAfter.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "5", "99999999999999999999", "Wed, 25 Nov 2026 12:00:30 GMT", "-1"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if d := pionclient.ParseRetryAfter(s, now); d < 0 || d > time.Hour {
			t.Fatalf("parseRetryAfter(%q) = %v", s, d)
		}
	})
}
