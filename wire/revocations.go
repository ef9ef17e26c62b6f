package wire

import (
	"fmt"
	"strings"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// Bounds of revocations.
const (
	// MaxSubjectLen bounds a revoked subject (store.MaxSubjectLen): a JWT's
	// sub is a short identifier.
	MaxSubjectLen = 256
	// MaxRevocationTerm bounds how far ahead a revocation may reach: ten
	// years is "for good" for a credential, and the bound keeps Until
	// far from the edges of time arithmetic.
	MaxRevocationTerm = 10 * 365 * 24 * time.Hour
)

// RevocationRequest is openapi.yaml's RevocationRequest, the body of POST
// /v1/revocations.
type RevocationRequest struct {
	Subject string    `json:"subject"`
	Until   time.Time `json:"until"` // RFC 3339; must be in the future (checked against the gateway's clock)
}

// Validate returns the request's invalid fields, but for Until's place in
// time, which CheckUntil judges against a clock.
func (r RevocationRequest) Validate() []FieldError {
	var fe []FieldError
	if msg := CheckSubject(r.Subject); msg != "" {
		fe = append(fe, FieldError{Field: "subject", Message: msg})
	}
	if r.Until.IsZero() {
		fe = append(fe, FieldError{Field: "until", Message: "required: an RFC 3339 time in the future"})
	}
	return fe
}

// CheckUntil says what is wrong with until at now ("" when nothing): it
// must be in the future, at most MaxRevocationTerm ahead.
func CheckUntil(until, now time.Time) string {
	switch {
	case !until.After(now):
		return "must be in the future"
	case until.Sub(now) > MaxRevocationTerm:
		return "at most 10 years ahead"
	}
	return ""
}

// CheckSubject says what is wrong with a token subject to revoke ("" when
// nothing): 1 to MaxSubjectLen bytes without control characters.
func CheckSubject(s string) string {
	if s == "" || len(s) > MaxSubjectLen || strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return fmt.Sprintf("required: a token subject of 1-%d bytes without control characters", MaxSubjectLen)
	}
	return ""
}

// Revocation is openapi.yaml's Revocation: one revoked subject as the admin
// API shows it.
type Revocation struct {
	Subject   string    `json:"subject"`
	Until     time.Time `json:"until"`
	RevokedAt time.Time `json:"revoked_at"`
}

// NewRevocation is r as the admin API shows it.
func NewRevocation(r relay.Revocation) Revocation {
	return Revocation{Subject: r.Subject, Until: r.Until.UTC(), RevokedAt: r.At.UTC()}
}

// RevocationList is openapi.yaml's RevocationList, the answer of GET
// /v1/revocations.
type RevocationList struct {
	Revocations []Revocation `json:"revocations"`
}

// NewRevocationList lists revs.
func NewRevocationList(revs []relay.Revocation) RevocationList {
	l := RevocationList{Revocations: make([]Revocation, 0, len(revs))}
	for _, r := range revs {
		l.Revocations = append(l.Revocations, NewRevocation(r))
	}
	return l
}

// RelayRevocation is openapi.yaml's RelayRevocation: a revoked user as a
// relay is told of it, by the pseudonym its TURN usernames carry, never
// by its subject.
type RelayRevocation struct {
	Pseudonym string    `json:"pseudonym"`
	Until     time.Time `json:"until"`
}

// NewRelayRevocations are revs (pseudonyms) as a heartbeat answer carries
// them; nil for none.
func NewRelayRevocations(revs []relay.Revocation) []RelayRevocation {
	if len(revs) == 0 {
		return nil
	}
	out := make([]RelayRevocation, len(revs))
	for i, r := range revs {
		out[i] = RelayRevocation{Pseudonym: r.Pseudonym, Until: r.Until.UTC()}
	}
	return out
}
