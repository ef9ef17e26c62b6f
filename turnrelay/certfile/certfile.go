package certfile

import (
	"cmp"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Reloader.
type Config struct {
	CertFile string // PEM certificate chain, leaf first; required
	KeyFile  string // PEM private key of the leaf; required
	// CheckEvery is the least time between two looks at the files, so a
	// burst of handshakes costs one stat each per interval; default 5s.
	// A renewal weeks before expiry is seen within it.
	CheckEvery time.Duration
	Now        func() time.Time // the clock of CheckEvery; default time.Now
	Log        *slog.Logger     // reloads (Info) and pairs that do not load (Warn); default discard
}

func (c Config) withDefaults() Config {
	c.CheckEvery = cmp.Or(c.CheckEvery, 5*time.Second)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.CertFile == "" || c.KeyFile == "":
		return fmt.Errorf("%w: both a certificate file and a key file are needed", ErrConfig)
	case c.CheckEvery < 0:
		return fmt.Errorf("%w: check interval %v is negative", ErrConfig, c.CheckEvery)
	}
	return nil
}

// Reloader hands out the certificate of its files, reloading them when
// they change. Its methods are safe for concurrent use.
type Reloader struct {
	cfg Config
	cur atomic.Pointer[tls.Certificate]

	mu        sync.Mutex // guards below
	checkedAt time.Time  // of the last look at the files
	cert, key stamp      // the files as last tried, whether they loaded or not
}

// stamp is what tells a replaced file from the one before: its identity
// (a rename brings a new inode), modification time and size. A file that
// cannot be stat'ed has the zero stamp.
type stamp struct {
	info os.FileInfo
}

func stampOf(path string) stamp {
	fi, err := os.Stat(path)
	if err != nil {
		return stamp{}
	}
	return stamp{info: fi}
}

func (s stamp) same(o stamp) bool {
	if s.info == nil || o.info == nil {
		return s.info == nil && o.info == nil
	}
	return os.SameFile(s.info, o.info) && s.info.ModTime().Equal(o.info.ModTime()) && s.info.Size() == o.info.Size()
}

// New loads the pair named by cfg. Its error says why the pair does not
// load; after that, a pair that does not load keeps the last good one.
func New(cfg Config) (*Reloader, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := &Reloader{cfg: cfg}
	r.cert, r.key = stampOf(cfg.CertFile), stampOf(cfg.KeyFile)
	c, err := load(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	r.cur.Store(c)
	r.checkedAt = cfg.Now()
	return r, nil
}

// load reads the pair and parses its leaf.
func load(certFile, keyFile string) (*tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("certfile: load %s and %s: %w", certFile, keyFile, err)
	}
	if c.Leaf == nil { // LoadX509KeyPair fills it in since Go 1.23
		return nil, fmt.Errorf("certfile: load %s: no leaf certificate", certFile)
	}
	return &c, nil
}

// GetCertificate is tls.Config.GetCertificate: the current certificate,
// after a look at the files if CheckEvery has passed since the last one.
// It never fails once New has succeeded.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.check(false)
	return r.cur.Load(), nil
}

// Check looks at the files now, whatever CheckEvery says, and loads them if
// they changed. It reports whether the certificate changed.
func (r *Reloader) Check() bool { return r.check(true) }

func (r *Reloader) check(force bool) bool {
	now := r.cfg.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !force && now.Sub(r.checkedAt) < r.cfg.CheckEvery && !now.Before(r.checkedAt) {
		return false
	}
	r.checkedAt = now
	cert, key := stampOf(r.cfg.CertFile), stampOf(r.cfg.KeyFile)
	if cert.same(r.cert) && key.same(r.key) {
		return false
	}
	r.cert, r.key = cert, key
	c, err := load(r.cfg.CertFile, r.cfg.KeyFile)
	if err != nil {
		old := r.cur.Load().Leaf
		r.cfg.Log.Warn("TLS certificate files changed but do not load; keeping the previous certificate (expected for a moment while a renewal replaces one file, then the other)",
			"err", err.Error(), "serial", old.SerialNumber.String(), "not_after", old.NotAfter.UTC())
		return false
	}
	r.cur.Store(c)
	r.cfg.Log.Info("TLS certificate reloaded", "serial", c.Leaf.SerialNumber.String(), "not_after", c.Leaf.NotAfter.UTC())
	return true
}

// Certificate is the certificate served now.
func (r *Reloader) Certificate() *tls.Certificate { return r.cur.Load() }

// NotAfter is when the certificate served now expires.
func (r *Reloader) NotAfter() time.Time { return r.cur.Load().Leaf.NotAfter }
