package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/relaygate/relaygate/internal/testenv"
)

// writePair writes a self-signed certificate for localhost with serial,
// expiring serial days from now, and its key, each by a rename as ACME
// clients replace them; certOnly leaves the key file alone (a renewal
// caught between its two renames).
func writePair(t *testing.T, certFile, keyFile string, serial int64, certOnly bool) {
	t.Helper()
	cert, key, err := testenv.SelfSignedPEM(testenv.CertOptions{
		Serial: serial, NotAfter: time.Now().Add(time.Duration(serial) * 24 * time.Hour).Truncate(time.Second),
	})
	if err != nil {
		t.Fatal(err)
	}
	testenv.ReplaceFile(t, certFile, cert)
	if !certOnly {
		testenv.ReplaceFile(t, keyFile, key)
	}
}

// TestRunReloadsTLSCertificate runs relaynode with a TLS TURN listener on
// 127.0.0.1, renews its certificate as an ACME client does (certificate
// first, then key) and shows that new handshakes keep the old certificate
// while the pair does not match, then get the new one; the expiry metric
// follows.
func TestRunReloadsTLSCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePair(t, certFile, keyFile, 1, false)
	ctx, cancel := context.WithCancel(t.Context())
	stderr := &testenv.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen-udp=off", "--listen-tcp=off", "--listen-tls=127.0.0.1:0", "--metrics-listen=127.0.0.1:0",
			"--tls-cert=" + certFile, "--tls-key=" + keyFile, "--hostname=localhost", "--drain-timeout=100ms"},
			env(map[string]string{"RELAYNODE_SECRETS": testSecret}), stderr)
	}()
	defer func() {
		cancel()
		testenv.WaitDone(t, "run()", done, 10*time.Second)
	}()
	addr, metrics := waitStarted(t, stderr, "tls")

	// peer handshakes with the TURN listener, checks it speaks STUN over
	// TLS, and returns the serial of the certificate it was shown.
	peer := func() (int64, error) {
		c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "localhost", InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}) //nolint:gosec // G402: self-signed test certificates; the serial is what is checked
		if err != nil {
			return 0, err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(stun.MustBuild(stun.TransactionID, stun.BindingRequest).Raw); err != nil {
			return 0, err
		}
		buf := make([]byte, 1500)
		n, err := c.Read(buf)
		if err != nil {
			return 0, fmt.Errorf("binding over TLS: %w", err)
		}
		if !stun.IsMessage(buf[:n]) {
			return 0, fmt.Errorf("binding over TLS: answer is not STUN")
		}
		return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64(), nil
	}
	expiry := func() (int64, error) {
		resp, err := http.Get("http://" + metrics + "/metrics")
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return 0, err
		}
		for line := range strings.Lines(string(body)) {
			if v, ok := strings.CutPrefix(line, "relaynode_tls_certificate_expiry_timestamp_seconds "); ok {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				return int64(f), err
			}
		}
		return 0, fmt.Errorf("no relaynode_tls_certificate_expiry_timestamp_seconds in:\n%s", body)
	}
	wantSerial := func(want int64) func() error {
		return func() error {
			got, err := peer()
			if err != nil {
				return err
			}
			if got != want {
				return fmt.Errorf("peer certificate serial = %d, want %d", got, want)
			}
			return nil
		}
	}
	if err := wantSerial(1)(); err != nil {
		t.Fatal(err)
	}
	exp1, err := expiry()
	if err != nil {
		t.Fatal(err)
	}

	// The certificate is renewed; its key is not there yet.
	writePair(t, certFile, keyFile, 2, true)
	// The files are looked at on handshakes, at most every few seconds.
	testenv.Eventually(t, "the mismatched pair to be noticed", 15*time.Second, 50*time.Millisecond, func() error {
		if err := wantSerial(1)(); err != nil {
			return err
		}
		if _, ok := testenv.LogLine(stderr.String(), "TLS certificate files changed but do not load; keeping the previous certificate (expected for a moment while a renewal replaces one file, then the other)"); !ok {
			return fmt.Errorf("no warning yet; logs:\n%s", stderr)
		}
		return nil
	})
	if err := wantSerial(1)(); err != nil {
		t.Fatalf("with a mismatched pair: %v", err)
	}
	if got, err := expiry(); err != nil || got != exp1 {
		t.Errorf("expiry metric with a mismatched pair = %d, %v; want %d", got, err, exp1)
	}

	// A whole new pair (another key) is picked up by new handshakes.
	writePair(t, certFile, keyFile, 3, false)
	testenv.Eventually(t, "new handshakes to see the renewed certificate", 15*time.Second, 50*time.Millisecond, wantSerial(3))
	if got, err := expiry(); err != nil || got <= exp1 {
		t.Errorf("expiry metric after renewal = %d, %v; want later than %d", got, err, exp1)
	}
	if n := strings.Count(stderr.String(), "do not load"); n != 1 {
		t.Errorf("bad pair logged %d times, want once", n)
	}
}
