package testenv

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
	"time"
)

// leaf makes a certificate and key with opts and returns the certificate,
// after checking the two make a pair.
func leaf(t *testing.T, opts CertOptions) *x509.Certificate {
	t.Helper()
	certPEM, keyPEM, err := SelfSignedPEM(opts)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("X509KeyPair() error = %v", err)
	}
	return pair.Leaf
}

func TestSelfSignedPEM(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		c := leaf(t, CertOptions{})
		if c.SerialNumber.Int64() != 1 || len(c.DNSNames) != 1 || c.DNSNames[0] != "localhost" {
			t.Errorf("serial %v, names %v; want 1, [localhost]", c.SerialNumber, c.DNSNames)
		}
		if now := time.Now(); !c.NotBefore.Before(now) || !c.NotAfter.After(now.Add(23*time.Hour)) {
			t.Errorf("valid %v to %v, want from before now for about a day", c.NotBefore, c.NotAfter)
		}
	})
	t.Run("options", func(t *testing.T) {
		from := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
		c := leaf(t, CertOptions{Hosts: []string{"relay.test", "127.0.0.1"}, Serial: 7, NotBefore: from, NotAfter: from.Add(90 * 24 * time.Hour)})
		if c.SerialNumber.Int64() != 7 || !c.NotBefore.Equal(from) || !c.NotAfter.Equal(from.Add(90*24*time.Hour)) {
			t.Errorf("serial %v, valid %v to %v; want 7 and the times asked for", c.SerialNumber, c.NotBefore, c.NotAfter)
		}
		pool := x509.NewCertPool()
		pool.AddCert(c)
		for _, h := range []string{"relay.test", "127.0.0.1"} {
			if _, err := c.Verify(x509.VerifyOptions{DNSName: h, Roots: pool, CurrentTime: from.Add(time.Hour)}); err != nil {
				t.Errorf("Verify(%s) error = %v", h, err)
			}
		}
		if len(c.IPAddresses) != 1 || !c.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")) {
			t.Errorf("IP addresses %v, want [127.0.0.1]", c.IPAddresses)
		}
	})
}
