package api

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/relaygate/relaygate/internal/jwtkey"
)

// role is who a token speaks for. Roles are told apart by key, never by a
// claim the token's holder could choose.
type role int

const (
	roleUser role = iota
	roleNode
	roleAdmin
	numRoles
)

func (r role) String() string { return [...]string{"user", "node", "admin"}[r] }

// article is r with its indefinite article: "a user", "an admin".
func (r role) article() string { return [...]string{"a user", "a node", "an admin"}[r] }

// jwtLeeway absorbs clock skew between the token's issuer and us.
const jwtLeeway = 5 * time.Second

// maxTokenLen bounds what we hand to the JWT parser.
const maxTokenLen = 8 << 10

// verifier checks one role's tokens.
type verifier struct {
	key    any
	parser *jwt.Parser
	cache  *tokenCache
	maxAge time.Duration // 0: tokens of any age
	now    func() time.Time
}

func newVerifier(kc KeyConfig, now func() time.Time) (*verifier, error) {
	var key any
	var algs []string
	switch {
	case len(kc.Secret) > 0 && len(kc.PublicKeyPEM) > 0:
		return nil, errors.New("both a secret and a public key given; choose one")
	case len(kc.Secret) > 0:
		if len(kc.Secret) < jwtkey.MinHS256Secret {
			return nil, fmt.Errorf("HS256 secret shorter than %d bytes", jwtkey.MinHS256Secret)
		}
		key, algs = kc.Secret, []string{"HS256"}
	case len(kc.PublicKeyPEM) > 0:
		var err error
		if key, algs, err = parsePublicKey(kc.PublicKeyPEM); err != nil {
			return nil, err
		}
	default:
		return nil, nil // role closed
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(algs),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(), // an iat in the future (beyond the leeway) is refused
		jwt.WithLeeway(jwtLeeway),
		jwt.WithTimeFunc(now),
	}
	if kc.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(kc.Issuer))
	}
	if kc.Audience != "" {
		opts = append(opts, jwt.WithAudience(kc.Audience))
	}
	if kc.MaxAge < 0 {
		return nil, fmt.Errorf("maximum token age %v must not be negative", kc.MaxAge)
	}
	return &verifier{key: key, parser: jwt.NewParser(opts...), cache: newTokenCache(tokenCacheSize, now), maxAge: kc.MaxAge, now: now}, nil
}

// parsePublicKey reads a PKIX PEM public key and pins the algorithms its
// kind allows, so an RSA key can never verify an HS256 token made with the
// key's bytes as the secret (and "none" is never in the list).
func parsePublicKey(pemBytes []byte) (any, []string, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, nil, errors.New(`public key: want a PEM block of type "PUBLIC KEY"`)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("public key: %w", err)
	}
	algs, err := jwtkey.Algorithms(k)
	if err != nil {
		return nil, nil, fmt.Errorf("public key: %w", err)
	}
	return k, algs, nil
}

// verify parses and checks a token; the subject is returned on success.
// A token this verifier accepted before skips the parse and the signature,
// not the rules: its dates are checked again, as the first time.
func (v *verifier) verify(token string) (string, error) {
	if sub, ok := v.cache.get(token, v.maxAge); ok {
		return sub, nil
	}
	var c claims
	if _, err := v.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return v.key, nil }); err != nil {
		return "", err
	}
	if c.Subject == "" {
		return "", errors.New(`token has no "sub"`)
	}
	// The parser checked exp, nbf and iat; the maximum age is ours.
	times := timesOf(&c.RegisteredClaims)
	if err := times.check(v.now(), v.maxAge); err != nil {
		return "", err
	}
	v.cache.add(token, c.Subject, times)
	return c.Subject, nil
}

// authn holds a verifier per role.
type authn struct {
	roles [numRoles]*verifier
}

func newAuthn(cfg Config, now func() time.Time) (*authn, error) {
	a := &authn{}
	kcs := [numRoles]KeyConfig{cfg.User, cfg.Node, cfg.Admin}
	for r := range numRoles {
		v, err := newVerifier(kcs[r], now)
		if err != nil {
			return nil, fmt.Errorf("%s JWT key: %w", r, err)
		}
		a.roles[r] = v
	}
	// One key for two roles would let any user act as an operator.
	for r := range numRoles {
		for o := r + 1; o < numRoles; o++ {
			if sameKey(kcs[r], kcs[o]) {
				return nil, fmt.Errorf("%s and %s JWT keys must differ: roles are told apart by key", r, o)
			}
		}
	}
	return a, nil
}

func sameKey(a, b KeyConfig) bool {
	return (len(a.Secret) > 0 && bytes.Equal(a.Secret, b.Secret)) ||
		(len(a.PublicKeyPEM) > 0 && bytes.Equal(bytes.TrimSpace(a.PublicKeyPEM), bytes.TrimSpace(b.PublicKeyPEM)))
}

// subjectFrom is the verified subject of the request's token.
func subjectFrom(ctx context.Context) string { return infoFrom(ctx).subject }

// require returns middleware that admits only requests bearing a valid
// token of role r. A token that is valid for another role gets 403.
func (s *server) require(r role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			token, ok := bearer(req)
			if !ok {
				s.problem(w, req, errUnauthorized("missing bearer token"))
				return
			}
			v := s.auth.roles[r]
			if v == nil {
				s.problem(w, req, errUnauthorized(fmt.Sprintf("no key is configured for %s tokens", r)))
				return
			}
			sub, err := v.verify(token)
			if err != nil {
				for o := range numRoles {
					if o != r && s.auth.roles[o] != nil {
						if _, oerr := s.auth.roles[o].verify(token); oerr == nil {
							s.metrics.authFailures.WithLabelValues(r.String(), "wrong_role").Inc()
							s.problem(w, req, errForbidden(fmt.Sprintf("this endpoint needs %s token, not %s token", r.article(), o.article())))
							return
						}
					}
				}
				s.metrics.authFailures.WithLabelValues(r.String(), tokenFailure(err)).Inc()
				s.problem(w, req, errUnauthorized(tokenDetail(err)))
				return
			}
			infoFrom(req.Context()).subject = sub
			next.ServeHTTP(w, req)
		})
	}
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	if token == "" || len(token) > maxTokenLen {
		return "", false
	}
	return token, true
}

// tokenFailure is a bounded metric label for why a token was refused.
func tokenFailure(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, errNonNumericDate):
		return "non_numeric_date"
	case errors.Is(err, errNoIssuedAt):
		return "missing_iat"
	case errors.Is(err, errTokenTooOld):
		return "too_old"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "issued_in_future"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "not_yet_valid"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "missing_claim"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "bad_signature"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer), errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong_issuer_or_audience"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	}
	return "invalid"
}

// tokenDetail tells the caller why, without echoing any part of the token.
func tokenDetail(err error) string {
	switch tokenFailure(err) {
	case "expired":
		return "token expired"
	case "non_numeric_date":
		return "token dates (exp, nbf, iat) must be JSON numbers"
	case "missing_iat":
		return `token lacks "iat", which this gateway's maximum token age requires`
	case "too_old":
		return "token older than this gateway's maximum token age (from its iat)"
	case "issued_in_future":
		return `token issued in the future ("iat")`
	case "not_yet_valid":
		return `token not valid yet ("nbf")`
	case "missing_claim":
		return `token lacks a required claim ("exp")`
	case "bad_signature":
		return "token signature does not verify (wrong key or algorithm)"
	case "wrong_issuer_or_audience":
		return "token issuer or audience not accepted"
	case "malformed":
		return "token is malformed"
	}
	if strings.Contains(err.Error(), `"sub"`) {
		return `token has no "sub"`
	}
	return "token not valid"
}
