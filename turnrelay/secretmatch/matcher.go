package secretmatch

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/pion/stun/v4"

	"github.com/relaygate/relaygate/turnrelay/turncred"
)

// MaxPending bounds the remembered matches. One lives from the read of a
// request until pion authenticates it, so a handful are pending at a time
// (one per read loop); the bound only matters for requests pion drops
// before authenticating them (a stale nonce), whose matches linger until a
// later request of theirs replaces them or the bound evicts one.
const MaxPending = 4096

// Config configures a Matcher.
type Config struct {
	Verifier *turncred.Verifier // the relay's secrets; required
	Realm    string             // the relay's realm: requests naming another are not matched; required
	// ExpiryApplies says whether an expired username is refused for a
	// method, as the AuthHandler decides; expired usernames are then not
	// matched, before any HMAC. Default: always.
	ExpiryApplies func(stun.Method) bool
	Now           func() time.Time // default time.Now
}

// Matcher finds which secret signed requests with un-keyed usernames (see
// the package comment). It is safe for concurrent use.
type Matcher struct {
	v             *turncred.Verifier
	realm         string
	expiryApplies func(stun.Method) bool
	now           func() time.Time

	mu      sync.Mutex // guards below
	pending map[pendingKey]turncred.Secret
}

// pendingKey is one request's source (network and address) and username.
type pendingKey struct{ src, username string }

// New returns a Matcher for cfg.
func New(cfg Config) (*Matcher, error) {
	if cfg.Verifier == nil {
		return nil, errors.New("secretmatch: nil verifier")
	}
	if cfg.Realm == "" {
		return nil, errors.New("secretmatch: empty realm")
	}
	m := &Matcher{
		v: cfg.Verifier, realm: cfg.Realm, expiryApplies: cfg.ExpiryApplies, now: cfg.Now,
		pending: map[pendingKey]turncred.Secret{},
	}
	if m.expiryApplies == nil {
		m.expiryApplies = func(stun.Method) bool { return true }
	}
	if m.now == nil {
		m.now = time.Now
	}
	return m, nil
}

// Password hands over, once, the password of the secret that signed the
// last request from src with username, as the AuthHandler needs it for
// pion's long-term key. ok is false when no configured secret did (or the
// username is keyed, unsigned or expired): the AuthHandler then keeps to
// turncred.Verifier.Password. Call it with pion's RequestAttributes
// SrcAddr and Username.
func (m *Matcher) Password(src net.Addr, username string) (password string, ok bool) {
	k := pendingKey{src: addrKey(src), username: username}
	m.mu.Lock()
	s, ok := m.pending[k]
	if ok {
		delete(m.pending, k)
	}
	m.mu.Unlock()
	if !ok {
		return "", false
	}
	return turncred.Password(s, username), true
}

// Pending is the number of remembered matches not yet handed over.
func (m *Matcher) Pending() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.pending)
}

func (m *Matcher) remember(k pendingKey, s turncred.Secret) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.pending[k]; !ok && len(m.pending) >= MaxPending {
		for old := range m.pending { // evict one, whichever the map yields
			delete(m.pending, old)
			break
		}
	}
	m.pending[k] = s
}

func (m *Matcher) forget(k pendingKey) {
	m.mu.Lock()
	delete(m.pending, k)
	m.mu.Unlock()
}

func addrKey(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.Network() + " " + a.String()
}

// inspector matches the requests one reader sees. Its scratch message is
// reused, so a reader (a read loop) inspects one request at a time; the
// mutex keeps that true for readers used concurrently.
type inspector struct {
	m   *Matcher
	mu  sync.Mutex // guards msg
	msg stun.Message
}

// inspect looks at one datagram or stream frame b from src before pion
// does, and remembers which secret signed it if it is a signed request with
// an un-keyed, unexpired username in the relay's realm.
func (in *inspector) inspect(src net.Addr, b []byte) {
	r, ok := scan(b)
	// pion authenticates every request but Binding.
	if !ok || !r.signed || r.username == nil || r.method == stun.MethodBinding || string(r.realm) != in.m.realm {
		return
	}
	m := in.m
	username := string(r.username)
	u, err := turncred.ParseUsername(username)
	if err != nil || m.v.Keyed(u) || (m.expiryApplies(r.method) && u.Expired(m.now())) {
		return
	}
	k := pendingKey{src: addrKey(src), username: username}

	in.mu.Lock()
	defer in.mu.Unlock()
	// A copy: checking MESSAGE-INTEGRITY rewrites the length in place.
	msg := &in.msg
	msg.Raw = append(msg.Raw[:0], b[:r.size]...)
	if msg.Decode() != nil {
		m.forget(k)
		return
	}
	s, _, err := m.v.Match(username, func(password string) bool {
		return stun.NewLongTermIntegrity(username, m.realm, password).Check(msg) == nil
	})
	if err != nil {
		m.forget(k) // none: the newest secret's key gets pion's 401
		return
	}
	m.remember(k, s)
}
