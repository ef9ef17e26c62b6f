package turnrelay

import (
	"net"
	"net/netip"

	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"

	"github.com/relaygate/relaygate/turnrelay/secretmatch"
)

// turnConfig is pion's server configuration: our handlers for
// authentication, quotas, permissions and events, and every bound listener
// in one loop over the transports.
func (s *Server) turnConfig() turn.ServerConfig {
	sc := turn.ServerConfig{
		Realm:              s.cfg.Realm,
		AuthHandler:        s.authenticate,
		QuotaHandler:       s.withinQuota,
		EventHandler:       s.eventHandler(),
		AllocationLifetime: s.cfg.AllocationLifetime,
		LoggerFactory:      newPionLogs(s.logs.With("component", "pion"), s.cfg.Now),
	}
	gen := generator{s: s}
	for _, b := range s.lns {
		for _, pc := range b.packets {
			if s.match != nil {
				pc = s.match.PacketConn(pc)
			}
			sc.PacketConnConfigs = append(sc.PacketConnConfigs, turn.PacketConnConfig{
				PacketConn: pc, RelayAddressGenerator: gen, PermissionHandler: s.permit,
			})
		}
		if l := b.stream; l != nil {
			if s.match != nil {
				l = s.match.Listener(l)
			}
			sc.ListenerConfigs = append(sc.ListenerConfigs, turn.ListenerConfig{
				Listener: l, RelayAddressGenerator: gen, PermissionHandler: s.permit,
			})
		}
	}
	return sc
}

// newMatcher is the packet-path matcher that lets un-keyed usernames verify
// under any secret, as coturn's do; nil with one secret, where there is
// nothing to choose.
func (s *Server) newMatcher() (*secretmatch.Matcher, error) {
	if len(s.secrets) < 2 {
		return nil, nil
	}
	return secretmatch.New(secretmatch.Config{
		Verifier: s.verifier, Realm: s.cfg.Realm, ExpiryApplies: s.expiryApplies, Now: s.cfg.Now,
	})
}

// authenticate is pion's AuthHandler: it returns the long-term key for the
// TURN REST username, and the pseudonym as the allocation's user id (so a
// client may refresh with a newly minted credential of the same user).
//
// Which secret: the one a keyed username names; for an un-keyed one
// ("<expiry>:<user>", minted by coturn's tools and most app backends) the
// one whose key the matcher found to sign this very request on the packet
// path (package secretmatch), else the newest, as with one secret.
//
// Expiry, by method:
//   - Allocate, and any method not listed below: an expired credential is
//     refused (401), so it can never start relaying.
//   - Refresh, CreatePermission, ChannelBind: refused only under
//     StrictExpiry. Without it a live call keeps its allocation and may
//     still add peers (ICE restarts, new candidates) until it ends; the
//     allocation exists only because a valid credential created it.
//
// Send indications and ChannelData carry no credential; they are bound to
// the allocation's 5-tuple.
//
// A user the gateway revoked (its pseudonym in the last heartbeat answer)
// is refused (401) for every method; its allocations are ended when the
// answer arrives (revocations.set).
func (s *Server) authenticate(ra *turn.RequestAttributes) (string, []byte, bool) {
	if ra.Realm != s.cfg.Realm {
		s.metrics.authFailures.WithLabelValues(authRealm).Inc()
		return "", nil, false
	}
	password, u, err := s.verifier.Password(ra.Username)
	if err != nil {
		s.metrics.authFailures.WithLabelValues(authMalformed).Inc()
		return "", nil, false
	}
	if s.expiryApplies(ra.Method) && u.Expired(s.cfg.Now()) {
		s.metrics.authFailures.WithLabelValues(authExpired).Inc()
		return "", nil, false
	}
	user := u.Pseudonym(s.secrets)
	if s.revs.revoked(user, s.cfg.Now()) {
		s.metrics.authFailures.WithLabelValues(authRevoked).Inc()
		return "", nil, false
	}
	if s.match != nil {
		if p, ok := s.match.Password(ra.SrcAddr, ra.Username); ok {
			password = p
		}
	}
	return user, turn.GenerateAuthKey(ra.Username, s.cfg.Realm, password), true
}

func (s *Server) expiryApplies(m stun.Method) bool {
	switch m {
	case stun.MethodRefresh, stun.MethodCreatePermission, stun.MethodChannelBind:
		return s.cfg.StrictExpiry
	default:
		return true
	}
}

// onAuth counts integrity failures: pion calls it after checking
// MESSAGE-INTEGRITY with the key authenticate returned.
func (s *Server) onAuth(_, _ net.Addr, _, _, _ string, _ string, verdict bool) {
	if !verdict {
		s.metrics.authFailures.WithLabelValues(authMismatch).Inc()
	}
}

// eventHandler counts allocations and keeps the data plane's routes in
// step with pion's allocations, channels and permissions.
func (s *Server) eventHandler() turn.EventHandler {
	d := s.data
	return turn.EventHandler{
		OnAuth: s.onAuth,
		OnAllocationCreated: func(src, dst net.Addr, _, _, _ string, relay net.Addr, _ int) {
			s.metrics.allocationsTotal.Inc()
			d.AllocationCreated(src, dst, relay)
		},
		OnAllocationDeleted: func(src, dst net.Addr, _, _, _ string) { d.AllocationDeleted(src, dst) },
		OnChannelCreated: func(src, dst net.Addr, _, _, _ string, relay, peer net.Addr, n uint16) {
			d.ChannelCreated(src, dst, relay, peer, n)
		},
		OnChannelDeleted: func(src, dst net.Addr, _, _, _ string, relay, _ net.Addr, n uint16) {
			d.ChannelDeleted(src, dst, relay, n)
		},
		OnPermissionCreated: func(src, dst net.Addr, _, _, _ string, relay net.Addr, peer net.IP) {
			d.PermissionCreated(src, dst, relay, peer)
		},
		OnPermissionDeleted: func(src, dst net.Addr, _, _, _ string, relay net.Addr, peer net.IP) {
			d.PermissionDeleted(src, dst, relay, peer)
		},
	}
}

// permit is pion's PermissionHandler for CreatePermission, ChannelBind and
// Connect. pion answers a refusal with 403 to CreatePermission and Connect,
// and with 401 to ChannelBind (pion/turn v5.1.3's choice).
func (s *Server) permit(_ net.Addr, peer net.IP) bool {
	ip, ok := netip.AddrFromSlice(peer)
	if ok && s.filter.Allowed(ip) {
		return true
	}
	s.metrics.permitDenied.Add(1)
	return false
}

// withinQuota is pion's QuotaHandler: 486 when the user already holds UserQuota
// allocations. The count is re-checked and reserved when the relay socket
// is bound, so concurrent allocations cannot overshoot (they get 508).
func (s *Server) withinQuota(userID, _ string, _ net.Addr) bool {
	if s.ledger.UserFull(userID) {
		s.metrics.quotaRejections.WithLabelValues(quotaUser).Inc()
		return false
	}
	return true
}

// reserve takes one allocation from the node's capacity and user's quota,
// counting a refusal by its kind.
func (s *Server) reserve(user string) error {
	err := s.ledger.Reserve(user, s.cfg.Now())
	if err != nil {
		s.metrics.quotaRejections.WithLabelValues(quotaKind(err)).Inc()
	}
	return err
}
