package gateway_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/relaygate/relaygate/gateway"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/store/storetest"
	"github.com/relaygate/relaygate/turnrelay/turncred"
)

// pseudonymOf is the pseudonym a relay reads from the username the
// gateway mints for subject.
func pseudonymOf(t *testing.T, f *fixture, subject string) string {
	t.Helper()
	c := f.gw.Mint(subject, time.Hour, storetest.T0)
	u, err := turncred.ParseUsername(c.Username)
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := turncred.ParseSecrets("k1:" + turnSecret)
	if err != nil {
		t.Fatal(err)
	}
	return u.Pseudonym(secrets)
}

// TestUsageBySubject: a relay's report under the pseudonyms of minted
// usernames reads back by token subject and per relay; the metrics count
// reports and name no user.
func TestUsageBySubject(t *testing.T) {
	f := newFixture(t)
	alice, bob := pseudonymOf(t, f, "alice@example.com"), pseudonymOf(t, f, "bob@example.com")
	rep := relay.UsageReport{Epoch: "e1", Seq: 1, Entries: []relay.UsageEntry{
		{Pseudonym: alice, Usage: relay.Usage{BytesToPeer: 1000, BytesFromPeer: 2000, AllocationTime: time.Minute}},
		{Pseudonym: bob, Usage: relay.Usage{BytesToPeer: 1, BytesFromPeer: 2, AllocationTime: time.Second}},
	}}
	ctx := t.Context()
	for range 2 { // the second is a retry
		if err := f.gw.RecordUsage(ctx, "fra-1", rep); err != nil {
			t.Fatal(err)
		}
	}
	hour := storetest.T0.Truncate(time.Hour)
	got, err := f.gw.UsageOf(ctx, "alice@example.com", hour, hour.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if want := []relay.UsagePeriod{{Start: hour, Usage: rep.Entries[0].Usage}}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("UsageOf(alice) = %v, want %v", got, want)
	}
	if got, err := f.gw.UsageOf(ctx, "carol@example.com", hour, hour.Add(time.Hour)); err != nil || len(got) != 0 {
		t.Errorf("UsageOf(carol) = %v, %v; want none", got, err)
	}
	rs, err := f.gw.RelayUsage(ctx, hour, hour.Add(time.Hour))
	if err != nil || len(rs) != 1 || rs[0].RelayID != "fra-1" || rs[0].BytesToPeer != 1001 || rs[0].BytesFromPeer != 2002 {
		t.Errorf("RelayUsage() = %+v, %v; want fra-1 with 1001 and 2002 bytes", rs, err)
	}
	if n, _ := f.labelled("relaygate_usage_reports_total", "result", "counted"); n != 2 {
		t.Errorf("relaygate_usage_reports_total{result=counted} = %v, want 2", n)
	}
	if err := f.gw.RecordUsage(ctx, "fra-1", relay.UsageReport{Epoch: "e1"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("RecordUsage(seq 0) error = %v, want ErrInvalid", err)
	}
	if n, _ := f.labelled("relaygate_usage_reports_total", "result", "failed"); n != 1 {
		t.Errorf("relaygate_usage_reports_total{result=failed} = %v, want 1", n)
	}
	mfs, err := f.metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if s := mf.String(); strings.Contains(s, alice) || strings.Contains(s, "alice") {
			t.Errorf("metric %s names a user: %s", mf.GetName(), s)
		}
	}
}

func TestUsageOffWithoutAStore(t *testing.T) {
	mem := storetest.NewMemory(t, store.MemoryConfig{})
	gw, err := gateway.New(gateway.Config{ProbeOff: true}, gateway.Deps{Store: mem, Minter: testMinter(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.RecordUsage(t.Context(), "fra-1", relay.UsageReport{Epoch: "e", Seq: 1}); !errors.Is(err, gateway.ErrNoUsage) {
		t.Errorf("RecordUsage() error = %v, want ErrNoUsage", err)
	}
}
