package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/wire"
)

// errNonNumericDate refuses a token whose exp, nbf or iat is not a JSON
// number. RFC 7519 §2 defines NumericDate as a JSON numeric value;
// golang-jwt's NumericDate also takes a quoted number ("1e10"), which an
// issuer never writes and a forger might.
var errNonNumericDate = errors.New(`exp, nbf and iat must be JSON numbers`)

// errNoIssuedAt refuses a token without iat where a maximum age is set.
var errNoIssuedAt = errors.New(`token has no "iat", which a maximum token age needs`)

// errTokenTooOld refuses a token issued longer ago than the role's maximum age.
var errTokenTooOld = errors.New("token older than the maximum token age")

// errCountryClaim refuses a token whose allowed_countries or
// exclude_countries claim is not a list of assigned ISO 3166-1 alpha-2
// codes: leaving a bad code out could widen what the issuer meant.
var errCountryClaim = errors.New(`"allowed_countries" and "exclude_countries" must list assigned ISO 3166-1 alpha-2 country codes`)

// claims are the registered claims of a token, decoded strictly: the
// NumericDate claims must be JSON numbers. jwt.Parser decodes a token's
// payload into it through UnmarshalJSON. Besides them it reads the
// issuer's jurisdiction policy for the token's holder, the
// allowed_countries and exclude_countries claims: within, nil when the
// token has neither.
type claims struct {
	jwt.RegisteredClaims
	within *relay.Jurisdiction
}

// maxNumericDate bounds the seconds we accept (about the year 33,658), so
// a date always fits a time.Time with room for the leeway.
const maxNumericDate = 1e12

// UnmarshalJSON decodes the registered claims, refusing a date that is
// not a JSON number. Other members are ignored, as RFC 7519 asks.
func (c *claims) UnmarshalJSON(b []byte) error {
	var raw struct {
		Issuer    string           `json:"iss"`
		Subject   string           `json:"sub"`
		Audience  jwt.ClaimStrings `json:"aud"`
		ExpiresAt json.RawMessage  `json:"exp"`
		NotBefore json.RawMessage  `json:"nbf"`
		IssuedAt  json.RawMessage  `json:"iat"`
		ID        string           `json:"jti"`
		Allowed   []string         `json:"allowed_countries"`
		Exclude   []string         `json:"exclude_countries"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	c.within = nil
	if raw.Allowed != nil || raw.Exclude != nil {
		for _, l := range [][]string{raw.Allowed, raw.Exclude} {
			if l != nil && wire.CheckCountries(l) != "" {
				return errCountryClaim
			}
		}
		j := wire.Jurisdiction(raw.Allowed, raw.Exclude)
		c.within = &j
	}
	rc := jwt.RegisteredClaims{Issuer: raw.Issuer, Subject: raw.Subject, Audience: raw.Audience, ID: raw.ID}
	var err error
	if rc.ExpiresAt, err = numericDate("exp", raw.ExpiresAt); err != nil {
		return err
	}
	if rc.NotBefore, err = numericDate("nbf", raw.NotBefore); err != nil {
		return err
	}
	if rc.IssuedAt, err = numericDate("iat", raw.IssuedAt); err != nil {
		return err
	}
	c.RegisteredClaims = rc
	return nil
}

// numericDate reads one NumericDate claim: absent or null is nil; anything
// but a JSON number in range is refused.
func numericDate(name string, raw json.RawMessage) (*jwt.NumericDate, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if c := raw[0]; c != '-' && (c < '0' || c > '9') {
		return nil, fmt.Errorf("claim %q: %w", name, errNonNumericDate)
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.Abs(f) > maxNumericDate {
		return nil, fmt.Errorf("claim %q out of range: %w", name, errNonNumericDate)
	}
	secs, frac := math.Modf(f)
	return jwt.NewNumericDate(time.Unix(int64(secs), int64(frac*1e9))), nil
}

// tokenTimes are a token's dates, zero when absent, checked on every use
// of a remembered token as the parser checked them on the first.
type tokenTimes struct {
	exp, nbf, iat time.Time
}

func timesOf(rc *jwt.RegisteredClaims) tokenTimes {
	var t tokenTimes
	if rc.ExpiresAt != nil {
		t.exp = rc.ExpiresAt.Time
	}
	if rc.NotBefore != nil {
		t.nbf = rc.NotBefore.Time
	}
	if rc.IssuedAt != nil {
		t.iat = rc.IssuedAt.Time
	}
	return t
}

// check applies golang-jwt's time rules (exp required; nbf and iat, when
// present, not in the future; jwtLeeway on each) and the maximum age, when
// maxAge > 0, at now.
func (t tokenTimes) check(now time.Time, maxAge time.Duration) error {
	switch {
	case t.exp.IsZero():
		return jwt.ErrTokenRequiredClaimMissing
	case !now.Before(t.exp.Add(jwtLeeway)):
		return jwt.ErrTokenExpired
	case !t.nbf.IsZero() && now.Before(t.nbf.Add(-jwtLeeway)):
		return jwt.ErrTokenNotValidYet
	case !t.iat.IsZero() && now.Before(t.iat.Add(-jwtLeeway)):
		return jwt.ErrTokenUsedBeforeIssued
	case maxAge <= 0:
		return nil
	case t.iat.IsZero():
		return errNoIssuedAt
	case now.Sub(t.iat) > maxAge+jwtLeeway:
		return errTokenTooOld
	}
	return nil
}
