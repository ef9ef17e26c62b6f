package certfile_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/turnrelay/certfile"
)

// pair is a self-signed certificate and its key, PEM-encoded.
type pair struct{ cert, key []byte }

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// newPair makes a certificate for localhost with serial, valid for 90
// days from t0 (and serial hours more, so each pair's NotAfter differs).
func newPair(t testing.TB, serial int64) pair {
	t.Helper()
	cert, key, err := testenv.SelfSignedPEM(testenv.CertOptions{
		Serial: serial, NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(90 * 24 * time.Hour).Add(time.Duration(serial) * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	return pair{cert: cert, key: key}
}

// lockedBuffer collects log lines from concurrent handshakes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), msg)
}

// fixture is a Reloader over files in a temporary directory, on a clock
// the test moves.
type fixture struct {
	certFile, keyFile string
	now               time.Time
	logs              *lockedBuffer
	r                 *certfile.Reloader
}

func newFixture(t *testing.T, p pair) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{certFile: filepath.Join(dir, "cert.pem"), keyFile: filepath.Join(dir, "key.pem"), now: t0, logs: &lockedBuffer{}}
	testenv.ReplaceFile(t, f.certFile, p.cert)
	testenv.ReplaceFile(t, f.keyFile, p.key)
	r, err := certfile.New(certfile.Config{
		CertFile: f.certFile, KeyFile: f.keyFile, CheckEvery: 5 * time.Second,
		Now: func() time.Time { return f.now }, Log: slog.New(slog.NewJSONHandler(f.logs, nil)),
	})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	f.r = r
	return f
}

// serial is the serial of the certificate a handshake gets now.
func (f *fixture) serial(t *testing.T) int64 {
	t.Helper()
	c, err := f.r.GetCertificate(&tls.ClientHelloInfo{ServerName: "localhost"})
	if err != nil {
		t.Fatalf("GetCertificate() error = %v", err)
	}
	return c.Leaf.SerialNumber.Int64()
}

const (
	reloadedMsg = "TLS certificate reloaded"
	badPairMsg  = "TLS certificate files changed but do not load"
)

func TestReloadsReplacedPairAfterCheckInterval(t *testing.T) {
	f := newFixture(t, newPair(t, 1))
	if got := f.serial(t); got != 1 {
		t.Fatalf("serial = %d, want 1", got)
	}
	p2 := newPair(t, 2)
	testenv.ReplaceFile(t, f.certFile, p2.cert)
	testenv.ReplaceFile(t, f.keyFile, p2.key)
	f.now = f.now.Add(4 * time.Second)
	if got := f.serial(t); got != 1 {
		t.Errorf("serial within CheckEvery = %d, want 1 (files not looked at yet)", got)
	}
	f.now = f.now.Add(time.Second)
	if got := f.serial(t); got != 2 {
		t.Errorf("serial after CheckEvery = %d, want 2", got)
	}
	if want := t0.Add(90*24*time.Hour + 2*time.Hour); !f.r.NotAfter().Equal(want) {
		t.Errorf("NotAfter() = %v, want %v", f.r.NotAfter(), want)
	}
	if n := f.logs.count(reloadedMsg); n != 1 {
		t.Errorf("%q logged %d times, want 1", reloadedMsg, n)
	}
}

func TestCertificateBeforeKeyKeepsOldUntilBothReplaced(t *testing.T) {
	f := newFixture(t, newPair(t, 1))
	p2 := newPair(t, 2)
	testenv.ReplaceFile(t, f.certFile, p2.cert) // the key is still the old one: a mismatched pair
	for range 20 {                              // many handshakes over several intervals
		f.now = f.now.Add(3 * time.Second)
		if got := f.serial(t); got != 1 {
			t.Fatalf("serial with a mismatched pair = %d, want 1", got)
		}
	}
	if n := f.logs.count(badPairMsg); n != 1 {
		t.Errorf("%q logged %d times for one change, want 1", badPairMsg, n)
	}
	testenv.ReplaceFile(t, f.keyFile, p2.key)
	f.now = f.now.Add(5 * time.Second)
	if got := f.serial(t); got != 2 {
		t.Errorf("serial once the key follows = %d, want 2", got)
	}
}

func TestBadFilesKeepOldCertificate(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, f *fixture)
	}{
		{name: "unparsable certificate", change: func(t *testing.T, f *fixture) { testenv.ReplaceFile(t, f.certFile, []byte("not a certificate")) }},
		{name: "unparsable key", change: func(t *testing.T, f *fixture) {
			testenv.ReplaceFile(t, f.keyFile, []byte("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"))
		}},
		{name: "key of another certificate", change: func(t *testing.T, f *fixture) { testenv.ReplaceFile(t, f.keyFile, newPair(t, 3).key) }},
		{name: "empty certificate", change: func(t *testing.T, f *fixture) { testenv.ReplaceFile(t, f.certFile, nil) }},
		{name: "certificate removed", change: func(t *testing.T, f *fixture) {
			if err := os.Remove(f.certFile); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, newPair(t, 1))
			tt.change(t, f)
			for range 3 {
				f.now = f.now.Add(10 * time.Second)
				if got := f.serial(t); got != 1 {
					t.Fatalf("serial after a bad change = %d, want 1", got)
				}
			}
			if f.r.Check() {
				t.Errorf("Check() = true for an unchanged bad pair, want false")
			}
			if n := f.logs.count(badPairMsg); n != 1 {
				t.Errorf("%q logged %d times, want 1:\n%s", badPairMsg, n, f.logs.b.String())
			}
			// A good pair afterwards is taken.
			p4 := newPair(t, 4)
			testenv.ReplaceFile(t, f.keyFile, p4.key)
			testenv.ReplaceFile(t, f.certFile, p4.cert)
			if !f.r.Check() {
				t.Fatalf("Check() = false after a good pair, want true")
			}
			if got := f.serial(t); got != 4 {
				t.Errorf("serial after a good pair = %d, want 4", got)
			}
		})
	}
}

func TestUnchangedFilesAreNotReloaded(t *testing.T) {
	f := newFixture(t, newPair(t, 1))
	before := f.r.Certificate()
	for range 5 {
		f.now = f.now.Add(time.Minute)
		f.serial(t)
	}
	if f.r.Certificate() != before || f.logs.count(reloadedMsg) != 0 {
		t.Errorf("unchanged files reloaded (%d reload lines)", f.logs.count(reloadedMsg))
	}
}

func TestNewRefuses(t *testing.T) {
	dir := t.TempDir()
	good := newPair(t, 1)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	testenv.ReplaceFile(t, certFile, good.cert)
	testenv.ReplaceFile(t, keyFile, newPair(t, 2).key)
	tests := []struct {
		name string
		cfg  certfile.Config
		want string
	}{
		{name: "no files", cfg: certfile.Config{}, want: "both a certificate file and a key file"},
		{name: "no key file", cfg: certfile.Config{CertFile: certFile}, want: "both a certificate file and a key file"},
		{name: "negative interval", cfg: certfile.Config{CertFile: certFile, KeyFile: keyFile, CheckEvery: -time.Second}, want: "negative"},
		{name: "missing file", cfg: certfile.Config{CertFile: filepath.Join(dir, "nope.pem"), KeyFile: keyFile}, want: "nope.pem"},
		{name: "mismatched pair", cfg: certfile.Config{CertFile: certFile, KeyFile: keyFile}, want: "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := certfile.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New() error = %v, want one containing %q", err, tt.want)
			}
			if tt.cfg.CertFile == "" && !errors.Is(err, certfile.ErrConfig) {
				t.Errorf("New() error = %v, want ErrConfig", err)
			}
		})
	}
}

// TestRealTLSHandshakes serves TLS on 127.0.0.1 with GetCertificate and
// shows a new handshake sees a replaced certificate, with the real clock.
func TestRealTLSHandshakes(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	p1 := newPair(t, 1)
	testenv.ReplaceFile(t, certFile, p1.cert)
	testenv.ReplaceFile(t, keyFile, p1.key)
	r, err := certfile.New(certfile.Config{CertFile: certFile, KeyFile: keyFile, CheckEvery: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: r.GetCertificate, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			_ = c.Close()
		}
	}()
	peerSerial := func() int64 {
		t.Helper()
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}) //nolint:gosec // G402: a self-signed test certificate; the serial is what is checked
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	if got := peerSerial(); got != 1 {
		t.Fatalf("peer serial = %d, want 1", got)
	}
	p2 := newPair(t, 2)
	testenv.ReplaceFile(t, certFile, p2.cert)
	testenv.ReplaceFile(t, keyFile, p2.key)
	if got := peerSerial(); got != 2 {
		t.Errorf("peer serial after replacing the pair = %d, want 2", got)
	}
}
