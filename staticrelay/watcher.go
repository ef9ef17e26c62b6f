package staticrelay

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"

	"github.com/relaygate/relaygate/internal/filepoll"
	"github.com/relaygate/relaygate/relay"
)

// Watcher follows a static relays file: it hands the relays of each new
// good version to its set func, and keeps the last good one when a new
// version is bad. It is safe for concurrent use.
//
// It notices a new version by content, not by file identity: every poll
// reads the file (MaxFileSize at most) and compares its SHA-256 with the
// version last tried. So an atomic rename over the file (what config
// managers and Kubernetes ConfigMap updates do), an edit in place and a
// rewrite with the same size and modification time are all seen; a file
// being written in place may be read half-written, refused, and read
// whole at the next poll.
type Watcher struct {
	cfg Config
	loc Locator
	set func([]relay.Relay) error
	log *slog.Logger

	mu      sync.Mutex // guards below; serialises Reload
	tried   [sha256.Size]byte
	triedOK bool                // tried holds a version (good or bad)
	ids     map[string]struct{} // the relays of the version last set
	fails   filepoll.Failures   // the last error poll logged, so a persistent one is logged once
}

// New checks cfg and reads the file once, handing its relays to set: an
// unreadable or bad file, or one set refuses, is an error (there is no
// last good version to keep). loc, when not nil, locates entries that
// state no coordinates (see Parse); set is gateway.Gateway.SetStatic or
// alike, and its error refuses the version as Parse's would. It starts
// nothing: Run follows the file.
func New(cfg Config, loc Locator, set func([]relay.Relay) error, log *slog.Logger) (*Watcher, error) {
	cfg = cfg.WithDefault(defaultPollInterval)
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if set == nil {
		return nil, fmt.Errorf("%w: no set func", ErrConfig)
	}
	if log == nil {
		return nil, fmt.Errorf("%w: no logger", ErrConfig)
	}
	w := &Watcher{cfg: cfg, loc: loc, set: set, log: log}
	if _, err := w.Reload(); err != nil {
		return nil, err
	}
	return w, nil
}

// Len is how many relays the version last set lists.
func (w *Watcher) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.ids)
}

// Reload reads the file and, when its content differs from the version
// last tried, parses it and hands its relays to set. It reports whether it
// did. A bad version (Parse's *FileError, or set's refusal) is returned
// and not tried again until the file changes; the relays set before stay.
// A file that cannot be read is returned and tried again at the next call.
func (w *Watcher) Reload() (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	data, err := readFile(w.cfg.Path)
	if err != nil {
		return false, fmt.Errorf("staticrelay: %w", err) // the *PathError names the file
	}
	sum := sha256.Sum256(data)
	if w.triedOK && sum == w.tried {
		return false, nil
	}
	w.tried, w.triedOK = sum, true
	rs, err := Parse(data, w.loc)
	if err != nil {
		var fe *FileError
		if errors.As(err, &fe) {
			fe.Path = w.cfg.Path
		}
		return false, err
	}
	if err := w.set(rs); err != nil {
		return false, fmt.Errorf("staticrelay: %s: %w", w.cfg.Path, err)
	}
	w.ids = make(map[string]struct{}, len(rs))
	for _, r := range rs {
		w.ids[r.ID] = struct{}{}
	}
	return true, nil
}

// readFile reads path, MaxFileSize+1 bytes at most: Parse refuses more.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path) //nolint:gosec // G304: the file the operator named in --static-relays
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxFileSize+1))
}

// Run reads the file every Config.PollInterval until ctx is done, then
// returns nil. It logs each new version at Info (how many relays, which
// came and went) and each refusal at Warn, a persistent one once, with
// the reasons: the last good version stays.
func (w *Watcher) Run(ctx context.Context) error {
	return filepoll.Run(ctx, w.cfg.PollInterval, func() error {
		w.poll()
		return nil
	})
}

// poll runs one Reload and logs its outcome.
func (w *Watcher) poll() {
	w.mu.Lock()
	before := maps.Clone(w.ids)
	w.mu.Unlock()
	changed, err := w.Reload()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fails.News(err) {
		w.log.Warn("static relays file refused, keeping the last good one", "path", w.cfg.Path, "relays", len(w.ids), "err", err)
	}
	if err == nil && changed {
		w.log.Info("static relays file reloaded", "path", w.cfg.Path, "relays", len(w.ids),
			"added", missing(w.ids, before), "removed", missing(before, w.ids))
	}
}

// missing lists the IDs of a not in b, sorted.
func missing(a, b map[string]struct{}) []string {
	out := []string{}
	for id := range a {
		if _, ok := b[id]; !ok {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}
