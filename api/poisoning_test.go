package api_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/wire"
)

// TestOneReporterCannotMoveItsPrefix: one user posting a thousand reports
// that its network's best relay is another leaves the network's answers
// (here alice's) as they were; two more users saying the same move them.
// Over HTTP, through the real gateway and its queue, on both stores.
func TestOneReporterCannotMoveItsPrefix(t *testing.T) {
	for name, open := range bothStores {
		t.Run(name, func(t *testing.T) {
			e := newEnvOn(t, func(now func() time.Time) store.Registry { return open(t, now) }, trustLoopback)
			e.run()
			e.register("fra-1", fra1())
			e.register("ams-2", ams2())
			berlin := netip.MustParsePrefix("198.51.100.0/24") // berlinIP's
			primary := func() (string, string) {
				t.Helper()
				if err := e.gw.Refresh(t.Context()); err != nil {
					t.Fatal(err)
				}
				resp, b := e.credentials(berlinIP, nil)
				if resp.StatusCode != 200 {
					t.Fatalf("credentials = %d %s", resp.StatusCode, b)
				}
				c := decodeAs[wire.Credentials](t, b)
				return c.Primary.RelayID, string(c.Primary.Basis)
			}
			if id, basis := primary(); id != "fra-1" || basis != "geo" {
				t.Fatalf("before any report: primary %s (%s), want fra-1 (geo)", id, basis)
			}

			// ams-2 near, fra-1 far: were it believed, the primary would move.
			body := map[string]any{"measurements": []any{map[string]any{"relay_id": "ams-2", "rtt_ms": 3},
				map[string]any{"relay_id": "fra-1", "rtt_ms": 300}}}
			accepted := 0
			report := func(user string) {
				t.Helper()
				resp, b := e.do(req{method: "POST", path: "/v1/measurements", token: e.userToken(user), body: body,
					header: map[string]string{"X-Forwarded-For": berlinIP}})
				switch resp.StatusCode {
				case 202:
					accepted++
				case 429: // a per-user rate limit may refuse some: what it takes must still not move the prefix
				default:
					t.Fatalf("POST /v1/measurements = %d %s", resp.StatusCode, b)
				}
			}
			folded := func() {
				t.Helper()
				eventually(t, fmt.Sprintf("%d reports in the store", accepted), func() bool {
					ms, _, err := e.reg.Measurements(t.Context(), time.Time{})
					if err != nil {
						t.Fatal(err)
					}
					return ms[berlin]["ams-2"].Samples == accepted
				})
			}
			for range 1000 {
				report("mallory")
			}
			folded()
			if id, basis := primary(); id != "fra-1" || basis != "geo" {
				t.Fatalf("after %d reports from one user: primary %s (%s), want fra-1 (geo) still", accepted, id, basis)
			}
			report("bob")
			folded()
			if id, _ := primary(); id != "fra-1" {
				t.Fatalf("after two users: primary %s, want fra-1 still", id)
			}
			report("carol")
			folded()
			if id, basis := primary(); id != "ams-2" || basis != "measured" {
				t.Errorf("after three users: primary %s (%s), want ams-2 (measured)", id, basis)
			}
		})
	}
}
