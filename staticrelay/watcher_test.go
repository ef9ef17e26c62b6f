package staticrelay_test

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/staticrelay"
)

// sink is the gateway's side of a Watcher: it keeps the sets it was
// handed, and refuses one while refuse is set, as the gateway refuses an
// address outside the allowed networks.
type sink struct {
	mu     sync.Mutex
	sets   [][]string // each set's relay IDs
	refuse error
}

func (s *sink) set(rs []relay.Relay) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse != nil {
		return s.refuse
	}
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	s.sets = append(s.sets, ids)
	return nil
}

// last is the last set handed over, and how many there were.
func (s *sink) last() ([]string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sets) == 0 {
		return nil, 0
	}
	return s.sets[len(s.sets)-1], len(s.sets)
}

func file(ids ...string) string {
	var b strings.Builder
	b.WriteString("relays:\n")
	for _, id := range ids {
		b.WriteString(entry(id))
	}
	return b.String()
}

// watch starts a Watcher on a file holding content, polling every second,
// running until the test ends.
func watch(t *testing.T, content string) (string, *sink, *testenv.Buffer) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "static-relays.yaml")
	testenv.ReplaceFile(t, path, []byte(content))
	s := &sink{}
	logs := &testenv.Buffer{}
	w, err := staticrelay.New(staticrelay.Config{Path: path, PollInterval: time.Second}, nil, s.set, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	testenv.RunUntilCleanup(t, "Run()", w.Run)
	return path, s, logs
}

func TestWatcherFollowsReplacements(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path, s, logs := watch(t, file("a-1", "b-1"))
		if got, n := s.last(); n != 1 || !slices.Equal(got, []string{"a-1", "b-1"}) {
			t.Fatalf("after New: set %d times, last %v; want once, [a-1 b-1]", n, got)
		}

		testenv.ReplaceFile(t, path, []byte(file("b-1", "c-1")))
		time.Sleep(time.Second) // one poll, on the bubble's fake clock
		synctest.Wait()
		if got, n := s.last(); n != 2 || !slices.Equal(got, []string{"b-1", "c-1"}) {
			t.Fatalf("after an atomic replacement: set %d times, last %v; want twice, [b-1 c-1]", n, got)
		}
		line, ok := testenv.LogLine(logs.String(), "static relays file reloaded")
		if !ok || line["relays"] != 2.0 || !reflect.DeepEqual(line["added"], []any{"c-1"}) || !reflect.DeepEqual(line["removed"], []any{"a-1"}) {
			t.Errorf("reload logged as %v, want 2 relays, c-1 added, a-1 removed", line)
		}

		time.Sleep(3 * time.Second) // unchanged: nothing to hand over
		synctest.Wait()
		if _, n := s.last(); n != 2 {
			t.Errorf("an unchanged file was set again: %d sets", n)
		}

		// Rewritten in place, same size (a-1 and c-1 are as long).
		if err := os.WriteFile(path, []byte(file("b-1", "a-1")), 0o600); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if got, n := s.last(); n != 3 || !slices.Equal(got, []string{"b-1", "a-1"}) {
			t.Errorf("after an in-place rewrite: set %d times, last %v; want [b-1 a-1]", n, got)
		}
	})
}

func TestWatcherKeepsLastGood(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path, s, logs := watch(t, file("a-1"))
		const warn = "static relays file refused, keeping the last good one"

		testenv.ReplaceFile(t, path, []byte(file("a-1")+entry("b-1", "    lod: 3")))
		time.Sleep(3 * time.Second) // three polls of one bad version
		synctest.Wait()
		if got, n := s.last(); n != 1 || !slices.Equal(got, []string{"a-1"}) {
			t.Errorf("after a bad file: set %d times, last %v; want the first set alone", n, got)
		}
		if c := strings.Count(logs.String(), warn); c != 1 {
			t.Errorf("refusal logged %d times, want once:\n%s", c, logs)
		}
		line, _ := testenv.LogLine(logs.String(), warn)
		if err, _ := line["err"].(string); !strings.Contains(err, `line 16: relays[1]: unknown key "lod"`) || line["relays"] != 1.0 {
			t.Errorf("refusal logged as %v, want the key, its line, and the 1 relay kept", line)
		}

		// Gone (rm, then written anew by hand): the last good set stays.
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if _, n := s.last(); n != 1 {
			t.Errorf("a missing file changed the set: %d sets", n)
		}
		if c := strings.Count(logs.String(), warn); c != 2 || !strings.Contains(logs.String(), "no such file") {
			t.Errorf("a missing file logged %d refusals, want one more, naming it:\n%s", c-1, logs)
		}

		// The gateway refuses the next version (an address it does not allow).
		s.mu.Lock()
		s.refuse = errors.New("gateway: relay \"c-1\": addresses outside the public Internet: 10.0.0.1 in 10.0.0.0/8")
		s.mu.Unlock()
		testenv.ReplaceFile(t, path, []byte(file("c-1")))
		time.Sleep(time.Second)
		synctest.Wait()
		if got, _ := s.last(); !slices.Equal(got, []string{"a-1"}) || !strings.Contains(logs.String(), "10.0.0.0/8") {
			t.Errorf("after the gateway refused: last set %v, want [a-1]; logs:\n%s", got, logs)
		}

		// Fixed: taken at the next poll.
		s.mu.Lock()
		s.refuse = nil
		s.mu.Unlock()
		testenv.ReplaceFile(t, path, []byte(file("c-1", "d-1")))
		time.Sleep(time.Second)
		synctest.Wait()
		if got, _ := s.last(); !slices.Equal(got, []string{"c-1", "d-1"}) {
			t.Errorf("after the fix: last set %v, want [c-1 d-1]", got)
		}
	})
}

func TestNewRefuses(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	testenv.ReplaceFile(t, bad, []byte("relays:\n  - id: x\n"))
	good := filepath.Join(dir, "good.yaml")
	testenv.ReplaceFile(t, good, []byte(file("a-1")))
	s := &sink{}
	log := slog.New(slog.DiscardHandler)
	tests := []struct {
		name string
		cfg  staticrelay.Config
		set  func([]relay.Relay) error
		want string
	}{
		{name: "no path", cfg: staticrelay.Config{}, set: s.set, want: "path is empty"},
		{name: "negative interval", cfg: staticrelay.Config{Path: bad, PollInterval: -time.Second}, set: s.set, want: "poll interval -1s is negative"},
		{name: "no set func", cfg: staticrelay.Config{Path: bad}, want: "no set func"},
		{name: "missing file", cfg: staticrelay.Config{Path: filepath.Join(dir, "none.yaml")}, set: s.set, want: "none.yaml: no such file"},
		{name: "bad file", cfg: staticrelay.Config{Path: bad}, set: s.set, want: "bad.yaml: line 2: relays[0] (x) region: required"},
		{name: "set refuses", cfg: staticrelay.Config{Path: good}, set: func([]relay.Relay) error { return errors.New("refused") }, want: "good.yaml: refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := staticrelay.New(tt.cfg, nil, tt.set, log)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New() error = %v, want %q", err, tt.want)
			}
		})
	}
	if _, n := s.last(); n != 0 {
		t.Errorf("a refused New handed over %d sets", n)
	}
}
