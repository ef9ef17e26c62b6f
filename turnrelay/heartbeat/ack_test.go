package heartbeat

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestDecodeAckRevocations: the answer's revocations become a pseudonym
// map; entries that cannot be a pseudonym are dropped, the list is bounded,
// and an answer without revocations clears them.
func TestDecodeAckRevocations(t *testing.T) {
	until := "2026-12-05T13:00:00Z"
	a, err := decodeAck([]byte(`{"ttl_seconds":15,"heartbeat_interval_seconds":5,"drained":false,
		"revocations":[{"pseudonym":"abc_-DEF","until":"` + until + `"},{"pseudonym":"","until":"` + until + `"},
		{"pseudonym":"has space","until":"` + until + `"},{"pseudonym":"x:y","until":"` + until + `"}],"revocations_truncated":true}`))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := time.Parse(time.RFC3339, until)
	if got := a.revoked; len(got.Until) != 1 || !got.Until["abc_-DEF"].Equal(want) || !got.Truncated {
		t.Fatalf("revocations = %+v, want abc_-DEF until %v, truncated", got, want)
	}
	a, err = decodeAck([]byte(`{"ttl_seconds":15,"heartbeat_interval_seconds":5}`))
	if err != nil || len(a.revoked.Until) != 0 || a.revoked.Truncated {
		t.Fatalf("answer without revocations = %+v, %v; want none", a.revoked, err)
	}
	var b strings.Builder
	b.WriteString(`{"ttl_seconds":15,"heartbeat_interval_seconds":5,"revocations":[`)
	for i := range maxRevocations + 10 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"pseudonym":"p%d","until":%q}`, i, until)
	}
	b.WriteString(`]}`)
	if a, err = decodeAck([]byte(b.String())); err != nil || len(a.revoked.Until) != maxRevocations || !a.revoked.Truncated {
		t.Fatalf("%d revocations: kept %d, truncated %v, %v; want %d, true", maxRevocations+10, len(a.revoked.Until), a.revoked.Truncated, err, maxRevocations)
	}
}

// FuzzDecodeAck: whatever a gateway answers, the revocations kept are
// bounded and each is a printable pseudonym without ':' with a time.
func FuzzDecodeAck(f *testing.F) {
	f.Add(`{"ttl_seconds":15,"heartbeat_interval_seconds":5,"drained":true}`)
	f.Add(`{"ttl_seconds":15,"heartbeat_interval_seconds":5,"revocations":[{"pseudonym":"abc","until":"2026-12-05T13:00:00Z"}]}`)
	f.Add(`{"revocations":[{"pseudonym":"a b","until":"0001-01-01T00:00:00Z"},{"pseudonym":"abc"}],"revocations_truncated":true}`)
	f.Add(`{"revocations":null}`)
	f.Fuzz(func(t *testing.T, s string) {
		a, err := decodeAck([]byte(s))
		if err != nil {
			return
		}
		if len(a.revoked.Until) > maxRevocations {
			t.Fatalf("kept %d revocations, want at most %d", len(a.revoked.Until), maxRevocations)
		}
		for p, until := range a.revoked.Until {
			if p == "" || len(p) > maxPseudonymLen || strings.ContainsAny(p, ": \t\r\n") || until.IsZero() {
				t.Fatalf("kept revocation %q until %v", p, until)
			}
		}
	})
}
