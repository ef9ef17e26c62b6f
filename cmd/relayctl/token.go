package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/relaygate/relaygate/internal/jwtkey"
	"github.com/relaygate/relaygate/wire"
)

var tokenCmd = &command{
	name:    "token",
	summary: "mint a user, node or admin JWT from a secret or a private key",
	help: `Mints a JWT that relaygate accepts and prints it. The gateway tells roles apart
by key, not by claim: sign with the key the gateway has for the role
(--user-jwt-secret, --node-jwt-secret, --admin-jwt-secret, or their
-public-key twins). A node token's --sub must be the relay's id.

With --secret the token is HS256. With --private-key (a PEM file, or the PEM
itself) the algorithm follows the key: Ed25519 → EdDSA, ECDSA P-256/384/521
→ ES256/384/512, RSA (2048 bits or more) → RS256. Keys in PKCS #8, SEC 1
("EC PRIVATE KEY") and PKCS #1 ("RSA PRIVATE KEY") form are read.

Prefer the environment for the secret: RELAYCTL_TOKEN_SECRET.`,
	scoped: map[string]bool{"secret": true, "ttl": true},
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		role := fs.String("role", "", "user, node or admin (required)")
		sub := fs.String("sub", "", "the token's subject: a user id, the relay id for node tokens, an operator name (required)")
		ttl := fs.Duration("ttl", time.Hour, "lifetime of the token")
		secret := fs.String("secret", "", "HS256 secret, 32 bytes or more")
		privateKey := fs.String("private-key", "", "PEM private key file (or the PEM itself) to sign with")
		issuer := fs.String("issuer", "", `"iss" claim (when the gateway requires one)`)
		audience := fs.String("audience", "", `"aud" claim (when the gateway requires one)`)
		asJSON := fs.Bool("json", false, `print {"token", "expires_at"} as JSON`)
		return func(ctx context.Context, c *cli, args []string) error {
			if len(args) > 0 {
				return usagef("token takes no arguments, got %d", len(args))
			}
			switch *role {
			case "user", "admin":
			case "node":
				if !wire.ValidSlug(*sub) {
					return usagef("--sub %q: a node token's subject is its relay id (lowercase letters, digits, '-')", *sub)
				}
			case "":
				return usageError{"--role is required: user, node or admin"}
			default:
				return usagef("--role %q: want user, node or admin", *role)
			}
			if *sub == "" {
				return usageError{"--sub is required"}
			}
			if *ttl <= 0 {
				return usagef("--ttl %v must be positive", *ttl)
			}
			method, key, err := signingKey(*secret, *privateKey)
			if err != nil {
				return err
			}
			now := time.Now()
			claims := jwt.RegisteredClaims{
				Subject:   *sub,
				IssuedAt:  jwt.NewNumericDate(now),
				NotBefore: jwt.NewNumericDate(now.Add(-5 * time.Second)),
				ExpiresAt: jwt.NewNumericDate(now.Add(*ttl)),
				Issuer:    *issuer,
			}
			if *audience != "" {
				claims.Audience = jwt.ClaimStrings{*audience}
			}
			signed, err := jwt.NewWithClaims(method, claims).SignedString(key)
			if err != nil {
				return fmt.Errorf("sign the token: %w", err)
			}
			if *asJSON {
				return writeJSON(c.stdout, map[string]any{"token": signed, "expires_at": claims.ExpiresAt.UTC().Format(time.RFC3339)})
			}
			fmt.Fprintln(c.stdout, signed)
			return nil
		}
	},
}

// signingKey picks the method and key from --secret or --private-key.
// Errors never contain the secret or the key.
func signingKey(secret, privateKey string) (jwt.SigningMethod, any, error) {
	switch {
	case secret != "" && privateKey != "":
		return nil, nil, usageError{"give --secret or --private-key, not both"}
	case secret != "":
		if len(secret) < jwtkey.MinHS256Secret {
			return nil, nil, usagef("--secret is shorter than %d bytes; the gateway refuses such keys", jwtkey.MinHS256Secret)
		}
		return jwt.SigningMethodHS256, []byte(secret), nil
	case privateKey != "":
		pemBytes := []byte(privateKey)
		if !strings.Contains(privateKey, "-----BEGIN") {
			b, err := os.ReadFile(privateKey) //nolint:gosec // G304: the file the user named in --private-key
			if err != nil {
				return nil, nil, usagef("--private-key: %v", err)
			}
			pemBytes = b
		}
		k, err := parsePrivateKey(pemBytes)
		if err != nil {
			return nil, nil, usagef("--private-key: %v", err)
		}
		m, err := methodFor(k)
		if err != nil {
			return nil, nil, usagef("--private-key: %v", err)
		}
		return m, k, nil
	}
	return nil, nil, usageError{"give --secret (HS256) or --private-key to sign with"}
}

func parsePrivateKey(pemBytes []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	if strings.Contains(block.Type, "ENCRYPTED") || block.Headers["Proc-Type"] != "" {
		return nil, errors.New("encrypted private keys are not supported")
	}
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("not a PKCS #8 private key")
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("unsupported key type %T", k)
		}
		return s, nil
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("not a SEC 1 EC private key")
		}
		return k, nil
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("not a PKCS #1 RSA private key")
		}
		return k, nil
	}
	return nil, fmt.Errorf("PEM block of type %q: want PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY", block.Type)
}

// methodFor is the algorithm the gateway pins for the key's public half.
func methodFor(k crypto.Signer) (jwt.SigningMethod, error) {
	algs, err := jwtkey.Algorithms(k.Public())
	if err != nil {
		return nil, fmt.Errorf("%w; the gateway refuses it", err)
	}
	return jwt.GetSigningMethod(algs[0]), nil
}
