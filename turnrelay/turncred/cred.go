package turncred

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // SHA-1 is what the TURN REST scheme (and coturn) use; HMAC-SHA1 is not broken.
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"hash"
	"log/slog"
	"sync"
	"time"
)

// pseudonymBytes is how much of the HMAC-SHA256 the pseudonym keeps: 120
// bits, far past any collision among users, 20 characters in base64url.
const pseudonymBytes = 15

// Credential is one minted TURN credential. It renders redacted in fmt and
// slog; read the fields to put it on the wire.
type Credential struct {
	Username string    // "<unix expiry>:<key id>.<pseudonym>"
	Password string    // base64(HMAC-SHA1(secret, Username))
	Expires  time.Time // when relays start refusing it
}

// String hides the credential.
func (Credential) String() string { return "[turn-credential]" }

// LogValue hides the credential.
func (Credential) LogValue() slog.Value { return slog.StringValue("[turn-credential]") }

// Password computes the TURN REST password of username under secret.
func Password(secret Secret, username string) string {
	m := hmac.New(sha1.New, secret.value)
	m.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Minter mints credentials with the newest secret. It is safe for
// concurrent use.
type Minter struct {
	secret       Secret
	pseudonymKey []byte
	// Keyed HMAC states, reused: hmac.New allocates and hashes the key
	// every time, and minting is on the request path of every call.
	passwords, pseudonyms sync.Pool
}

// NewMinter mints with secrets[0], the newest, and derives pseudonyms under
// pseudonymKey, which must be the same on every gateway replica and at least
// MinSecretLen bytes.
func NewMinter(secrets []Secret, pseudonymKey []byte) (*Minter, error) {
	if len(secrets) == 0 {
		return nil, ErrNoSecrets
	}
	if secrets[0].ID == "" {
		return nil, fmt.Errorf("%w: minting needs a secret with a key id", ErrBadSecrets)
	}
	if len(pseudonymKey) < MinSecretLen {
		return nil, fmt.Errorf("turncred: pseudonym key shorter than %d bytes", MinSecretLen)
	}
	m := &Minter{secret: secrets[0], pseudonymKey: append([]byte(nil), pseudonymKey...)}
	m.passwords.New = func() any { return &macState{h: hmac.New(sha1.New, m.secret.value)} }
	m.pseudonyms.New = func() any { return &macState{h: hmac.New(sha256.New, m.pseudonymKey)} }
	return m, nil
}

// macState is a keyed HMAC with scratch space for its input and output.
// Whatever is handed to the hash through its interface escapes to the heap,
// so the input is copied into the state's own buffer first: minting then
// allocates only the two strings it returns.
type macState struct {
	h       hash.Hash
	in, out []byte
}

// sum returns HMAC(key, prefix || msg) in the state's own buffer, valid
// until the state is used again.
func (st *macState) sum(prefix []byte, msg string) []byte {
	st.in = append(append(st.in[:0], prefix...), msg...)
	st.h.Reset()
	st.h.Write(st.in)
	st.out = st.h.Sum(st.out[:0])
	return st.out
}

// appendPseudonym appends subject's pseudonym to dst.
func (m *Minter) appendPseudonym(dst []byte, subject string) []byte {
	st := m.pseudonyms.Get().(*macState)
	dst = base64.RawURLEncoding.AppendEncode(dst, st.sum(nil, subject)[:pseudonymBytes])
	m.pseudonyms.Put(st)
	return dst
}

// Pseudonym is the opaque stand-in for subject in usernames: the same subject
// always maps to the same pseudonym under one key, and nobody without the key
// can tell whose it is.
func (m *Minter) Pseudonym(subject string) string {
	var buf [32]byte
	return string(m.appendPseudonym(buf[:0], subject))
}

// Mint returns a credential for subject that relays accept until now+ttl
// (rounded up to a whole second). ttl must be positive; callers bound it.
func (m *Minter) Mint(subject string, ttl time.Duration, now time.Time) Credential {
	exp := now.Add(ttl)
	if exp.Truncate(time.Second) != exp {
		exp = exp.Truncate(time.Second).Add(time.Second)
	}
	// "<expiry>:<key id>.<pseudonym>", in one buffer.
	var nameBuf [128]byte
	name := append(append(appendExpiry(nameBuf[:0], exp.Unix()), m.secret.ID...), '.')
	name = m.appendPseudonym(name, subject)
	st := m.passwords.Get().(*macState)
	var pw [28]byte // base64 of a SHA-1 HMAC
	base64.StdEncoding.Encode(pw[:], st.sum(name, ""))
	m.passwords.Put(st)
	return Credential{Username: string(name), Password: string(pw[:]), Expires: exp}
}

// Verifier checks credentials against every configured secret. It is safe
// for concurrent use.
type Verifier struct {
	secrets []Secret
}

// NewVerifier accepts credentials minted under any of secrets (newest
// first). A secret removed from the list stops verifying at once.
func NewVerifier(secrets []Secret) (*Verifier, error) {
	if len(secrets) == 0 {
		return nil, ErrNoSecrets
	}
	return &Verifier{secrets: append([]Secret(nil), secrets...)}, nil
}

// Secrets returns the verifier's secrets, newest first.
func (v *Verifier) Secrets() []Secret { return append([]Secret(nil), v.secrets...) }

// Keyed reports whether u's key id names one of the verifier's secrets:
// such a username is checked against that secret only. Usernames minted
// elsewhere ("<expiry>:<user>", coturn's tools, most app backends) are
// un-keyed, and so is one whose "key id" names no configured secret.
func (v *Verifier) Keyed(u Username) bool {
	id := u.KeyID()
	return id != "" && findSecret(v.secrets, id) >= 0
}

// Password parses username and returns the password it must come with: the
// HMAC under the secret its key id names, or under the newest secret when it
// names none (usernames minted by other TURN REST tools; Match tries the
// older secrets too). TURN servers need the password itself to derive the
// long-term key (RFC 8489 §9.2.2); the expiry is not checked here, so
// callers can decide per request (allocate vs refresh).
func (v *Verifier) Password(username string) (string, Username, error) {
	u, err := ParseUsername(username)
	if err != nil {
		return "", Username{}, err
	}
	i := 0
	if id := u.KeyID(); id != "" {
		if j := findSecret(v.secrets, id); j >= 0 {
			i = j
		}
	}
	return Password(v.secrets[i], username), u, nil
}

// Match finds the secret username was minted under, as coturn does with
// several static-auth-secrets: it asks ok about the password each candidate
// secret gives username and returns the first secret whose password ok
// accepts. A keyed username has one candidate, the secret it names; an
// un-keyed one has every secret, newest first. ok says whether the client
// holds that password (a constant-time compare, or a check of the request's
// MESSAGE-INTEGRITY under the key derived from it).
//
// Cost: one HMAC-SHA1 over the username and one call of ok per candidate,
// so at most len(secrets) of each for an un-keyed username that matches
// none. Match does not check the expiry: callers refuse expired usernames
// first, before any HMAC (see Verify). Errors are ErrMalformed and
// ErrMismatch.
func (v *Verifier) Match(username string, ok func(password string) bool) (Secret, Username, error) {
	u, err := ParseUsername(username)
	if err != nil {
		return Secret{}, Username{}, err
	}
	candidates := v.secrets
	if id := u.KeyID(); id != "" {
		if j := findSecret(v.secrets, id); j >= 0 {
			candidates = v.secrets[j : j+1]
		}
	}
	for _, s := range candidates {
		if ok(Password(s, username)) {
			return s, u, nil
		}
	}
	return Secret{}, u, ErrMismatch
}

// Verify checks a username and password pair at now: well formed, not
// expired (checked first, before any HMAC) and minted under a configured
// secret: the one a keyed username names, any for an un-keyed one.
func (v *Verifier) Verify(username, password string, now time.Time) (Username, error) {
	u, err := ParseUsername(username)
	if err != nil {
		return Username{}, err
	}
	if u.Expired(now) {
		return Username{}, ErrExpired
	}
	_, u, err = v.Match(username, func(want string) bool {
		return subtle.ConstantTimeCompare([]byte(want), []byte(password)) == 1
	})
	if err != nil {
		return Username{}, err
	}
	return u, nil
}

// DerivePseudonymKey derives a pseudonym key from a TURN secret, for
// deployments that set none of their own. Every replica holding the same
// secret derives the same key; the derivation is one-way, so the key reveals
// nothing of the secret.
func DerivePseudonymKey(s Secret) []byte {
	h := hmac.New(sha256.New, s.value)
	h.Write([]byte("relaygate pseudonym key v1"))
	return h.Sum(nil)
}
