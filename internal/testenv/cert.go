package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// CertOptions say what SelfSignedPEM makes. The zero value is a
// certificate for localhost with serial 1, valid from an hour ago for a
// day.
type CertOptions struct {
	Hosts     []string  // DNS names or IP literals; default "localhost"
	Serial    int64     // default 1
	NotBefore time.Time // default an hour before the call
	NotAfter  time.Time // default a day after the call
}

// SelfSignedPEM makes a fresh P-256 key and a self-signed CA certificate
// for TLS servers as opts say, and returns both PEM encoded (the key as
// PKCS #8). It needs no testing.TB, so TestMain can write files from it.
func SelfSignedPEM(opts CertOptions) (certPEM, keyPEM []byte, err error) {
	now := time.Now()
	if len(opts.Hosts) == 0 {
		opts.Hosts = []string{"localhost"}
	}
	if opts.Serial == 0 {
		opts.Serial = 1
	}
	if opts.NotBefore.IsZero() {
		opts.NotBefore = now.Add(-time.Hour)
	}
	if opts.NotAfter.IsZero() {
		opts.NotAfter = now.Add(24 * time.Hour)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(opts.Serial),
		Subject:               pkix.Name{CommonName: opts.Hosts[0]},
		NotBefore:             opts.NotBefore,
		NotAfter:              opts.NotAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range opts.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate: %w", err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), nil
}
