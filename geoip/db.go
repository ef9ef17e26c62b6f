package geoip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oschwald/geoip2-golang/v2"
	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/relaygate/relaygate/internal/filepoll"
	"github.com/relaygate/relaygate/relay"
)

// DB answers where a client address is, from an mmdb file that it reloads
// when the file is replaced. It is safe for concurrent use.
//
// The whole file is read into memory rather than memory-mapped: a lookup
// may still be using the previous database when Reload swaps in the next
// one, and with a heap buffer nothing needs to be unmapped at that moment;
// the old database is freed by the garbage collector once the last lookup
// is done with it. (A GeoLite2 City file is about 60 MB.)
type DB struct {
	cfg Config
	log *slog.Logger
	cur atomic.Pointer[readers] // nil once closed

	mu     sync.Mutex // guards below; serialises Reload and Close
	seen   fileID     // the file version last tried, loaded or not
	closed bool
	fails  filepoll.Failures // the last error Run logged, so a persistent one is logged once
}

// readers are two views of one loaded database. geoip2 checks what kind
// of database it is and reports its metadata; lookups go through
// maxminddb, the library under geoip2, decoding just the coordinates: a
// City record decoded whole (names in every language, subdivisions, postal
// code) cost 1.5 µs and 1.1 KB per request, the coordinates alone cost a
// fraction of that and nothing on the heap.
type readers struct {
	geo  *geoip2.Reader
	mmdb *maxminddb.Reader
}

// coordinates is the part of a City record Locate reads. Fields a record
// lacks are left as they were, so they start as NaN (see Locate).
type coordinates struct {
	Location struct {
		Latitude  float64 `maxminddb:"latitude"`
		Longitude float64 `maxminddb:"longitude"`
	} `maxminddb:"location"`
}

// fileID tells one version of the file from another.
type fileID struct {
	size     int64
	modTime  time.Time
	dev, ino uint64
}

// Open loads the database at path with the default Config.
func Open(path string, log *slog.Logger) (*DB, error) {
	return New(Config{Path: path}, log)
}

// New loads the database cfg.Path names. It starts nothing: call Run to
// follow replacements of the file, or Reload to check once.
func New(cfg Config, log *slog.Logger) (*DB, error) {
	cfg = cfg.WithDefault(defaultPollInterval)
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("geoip: config: %w", err)
	}
	if log == nil {
		return nil, errors.New("geoip: no logger")
	}
	d := &DB{cfg: cfg, log: log}
	if _, err := d.Reload(); err != nil {
		return nil, err
	}
	return d, nil
}

// Locate returns the approximate location of ip, and false when the
// database has no record for it, the record has no coordinates, or the DB
// is closed. IPv4-mapped IPv6 addresses are looked up as IPv4.
func (d *DB) Locate(ip netip.Addr) (relay.Location, bool) {
	r := d.cur.Load()
	if r == nil || !ip.IsValid() {
		return relay.Location{}, false
	}
	var rec coordinates
	rec.Location.Latitude, rec.Location.Longitude = math.NaN(), math.NaN()
	if err := r.mmdb.Lookup(ip.Unmap().WithZone("")).Decode(&rec); err != nil {
		return relay.Location{}, false
	}
	lat, lon := rec.Location.Latitude, rec.Location.Longitude
	if math.IsNaN(lat) || math.IsNaN(lon) || math.Abs(lat) > 90 || math.Abs(lon) > 180 {
		return relay.Location{}, false
	}
	return relay.Location{Latitude: lat, Longitude: lon}, true
}

// Reload loads the file again if it was replaced or changed since it was
// last tried (size, modification time or inode differ), and reports
// whether it swapped in a new database. When the new file cannot be read or
// is not a City-layout database, the current database stays and the error
// is returned; that file version is not tried again until it changes.
func (d *DB) Reload() (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return false, ErrClosed
	}
	f, err := os.Open(d.cfg.Path)
	if err != nil {
		return false, fmt.Errorf("geoip: %w", err) // the *PathError names the file
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("geoip: %w", err)
	}
	id := fileID{size: fi.Size(), modTime: fi.ModTime()}
	id.dev, id.ino = inode(fi)
	if id == d.seen {
		return false, nil
	}
	d.seen = id
	// Stat and read the same open file, so a rename in between cannot mix
	// one version's identity with another's contents.
	r, err := load(f, fi.Size())
	if err != nil {
		return false, fmt.Errorf("geoip: load %s: %w", d.cfg.Path, err)
	}
	d.cur.Store(r)
	return true, nil
}

// load reads a whole City database from f.
func load(f *os.File, size int64) (*readers, error) {
	var buf bytes.Buffer
	buf.Grow(int(size) + bytes.MinRead) // the size may change if the file is written meanwhile
	if _, err := buf.ReadFrom(f); err != nil {
		return nil, err
	}
	r, err := geoip2.OpenBytes(buf.Bytes())
	if err != nil {
		return nil, err
	}
	// A database of another kind (ASN, ISP, …) opens fine but cannot answer
	// City lookups; refuse it now rather than at every request.
	var wrong geoip2.InvalidMethodError
	if _, err := r.City(netip.IPv6Unspecified()); errors.As(err, &wrong) {
		return nil, fmt.Errorf("database type %q has no city locations", r.Metadata().DatabaseType)
	}
	m, err := maxminddb.OpenBytes(buf.Bytes())
	if err != nil {
		return nil, err
	}
	return &readers{geo: r, mmdb: m}, nil
}

// Run checks the file every Config.PollInterval until ctx is done, then
// returns nil (ErrClosed if the DB is closed meanwhile). It logs each
// reload at Info and each failure at Warn, a repeated failure only once;
// the previous database stays in use.
func (d *DB) Run(ctx context.Context) error {
	return filepoll.Run(ctx, d.cfg.PollInterval, func() error {
		d.poll()
		if d.isClosed() {
			return ErrClosed
		}
		return nil
	})
}

// poll runs one Reload and logs its outcome.
func (d *DB) poll() {
	swapped, err := d.Reload()
	if errors.Is(err, ErrClosed) {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fails.News(err) {
		d.log.Warn("geoip database not reloaded, keeping the previous one", "path", d.cfg.Path, "err", err)
	}
	if r := d.cur.Load(); err == nil && swapped && r != nil {
		md := r.geo.Metadata()
		d.log.Info("geoip database reloaded", "path", d.cfg.Path, "database_type", md.DatabaseType,
			"build_time", time.Unix(int64(md.BuildEpoch), 0).UTC()) //nolint:gosec // G115: the file's own build time, only logged
	}
}

func (d *DB) isClosed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

// Close drops the database: later lookups find nothing and Run returns.
// Lookups in progress finish on the database they started with.
func (d *DB) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	d.cur.Store(nil)
	return nil
}
