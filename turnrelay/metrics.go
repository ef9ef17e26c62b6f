package turnrelay

import (
	"errors"
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/relaygate/relaygate/internal/metric"
	"github.com/relaygate/relaygate/turnrelay/dataplane"
	"github.com/relaygate/relaygate/turnrelay/heartbeat"
	"github.com/relaygate/relaygate/turnrelay/quota"
)

// Label values are fixed sets: no metric carries a user, a username or an
// address (ephemeral usernames as labels grow memory without bound).
const (
	authRealm     = "realm"          // the request named another realm
	authMalformed = "malformed"      // the username is not "<expiry>:<user>"
	authExpired   = "expired"        // the credential is past its expiry
	authMismatch  = "bad_credential" // message integrity did not verify (wrong password or removed secret)
	authRevoked   = "revoked"        // the gateway revoked the user

	quotaAllocations = "allocations" // --max-allocations reached (508)
	quotaUser        = "user"        // --user-quota reached (486)
	quotaBandwidth   = "bandwidth"   // --max-bps budget in use (508)
	quotaDraining    = "draining"    // shutting down (508)
)

type metrics struct {
	reg              *prometheus.Registry
	allocationsTotal prometheus.Counter
	permitDenied     atomic.Uint64 // permissions and channel binds refused; datagrams are the data plane's
	authFailures     *prometheus.CounterVec
	quotaRejections  *prometheus.CounterVec
}

func newMetrics(s *Server) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		reg:              reg,
		allocationsTotal: metric.Counter("relaynode_allocations_total", "TURN allocations created."),
		authFailures:     metric.CounterVec("relaynode_auth_failures_total", "TURN requests refused for their credentials, by reason.", []string{"reason"}),
		quotaRejections:  metric.CounterVec("relaynode_quota_rejections_total", "Allocations refused for capacity or quota, by kind.", []string{"kind"}),
	}
	for _, r := range []string{authRealm, authMalformed, authExpired, authMismatch, authRevoked} {
		m.authFailures.WithLabelValues(r)
	}
	for _, k := range []string{quotaAllocations, quotaUser, quotaBandwidth, quotaDraining} {
		m.quotaRejections.WithLabelValues(k)
	}
	counterFunc := func(name, help, label, value string, f func(dataplane.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: name, Help: help, ConstLabels: prometheus.Labels{label: value},
		}, func() float64 { return float64(f(s.data.Stats())) })
	}
	reg.MustRegister(
		m.allocationsTotal, m.authFailures, m.quotaRejections,
		metric.CounterFunc("relaynode_peer_denied_total", "Permissions, channel binds and datagrams refused by the peer filter.", func() float64 { return float64(m.permitDenied.Load() + s.data.Stats().DroppedPeer) }),
		metric.GaugeFunc("relaynode_allocations", "Live TURN allocations.", func() float64 { return float64(s.Allocations()) }),
		metric.GaugeFunc("relaynode_revocations", "Users revoked now, as the gateway's last heartbeat answer listed them.", func() float64 { return float64(s.revs.inForce(s.cfg.Now())) }),
		metric.CounterFunc("relaynode_revoked_allocations_total", "Live allocations ended because the gateway revoked their user.", func() float64 { return float64(s.revs.ended.Load()) }),
		metric.GaugeFunc("relaynode_draining", "1 while the node drains before shutdown.", func() float64 {
			if s.Draining() {
				return 1
			}
			return 0
		}),
		counterFunc("relaynode_relayed_bytes_total", "Payload bytes relayed.", "direction", "to_peer", func(st dataplane.Stats) uint64 { return st.BytesToPeer }),
		counterFunc("relaynode_relayed_bytes_total", "Payload bytes relayed.", "direction", "from_peer", func(st dataplane.Stats) uint64 { return st.BytesFromPeer }),
		counterFunc("relaynode_relayed_packets_total", "Datagrams relayed.", "direction", "to_peer", func(st dataplane.Stats) uint64 { return st.PacketsToPeer }),
		counterFunc("relaynode_relayed_packets_total", "Datagrams relayed.", "direction", "from_peer", func(st dataplane.Stats) uint64 { return st.PacketsFromPeer }),
		counterFunc("relaynode_dropped_packets_total", "Datagrams dropped by the relay.", "reason", "bandwidth", func(st dataplane.Stats) uint64 { return st.DroppedBandwidth }),
		counterFunc("relaynode_dropped_packets_total", "Datagrams dropped by the relay.", "reason", "overload", func(st dataplane.Stats) uint64 { return st.DroppedOverload }),
		heartbeatCounter(s, "ok", func(st heartbeat.Stats) uint64 { return st.OK }),
		heartbeatCounter(s, "failed", func(st heartbeat.Stats) uint64 { return st.Failed }),
		metric.GaugeFunc("relaynode_heartbeat_consecutive_failures", "Heartbeats into the gateway that failed since the last accepted one (0 when standalone).", func() float64 { return float64(s.heartbeatStats().ConsecutiveFailures) }),
		metric.GaugeFunc("relaynode_usage_pending_pseudonyms", "Users (pseudonyms, never named here) whose usage waits to be reported to the gateway.", func() float64 { return float64(s.usage.Stats().Pending) }),
		metric.CounterFunc("relaynode_usage_reports_acked_total", "Usage reports the gateway acknowledged.", func() float64 { return float64(s.usage.Stats().Acked) }),
		metric.CounterFunc("relaynode_usage_lost_bytes_total", "Relayed bytes left out of usage reports because too many users' usage was waiting (gateway unreachable for long).", func() float64 { return float64(s.usage.Stats().LostBytes) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// heartbeatCounter is relaynode_heartbeats_total{result}: zero, but
// exported, on a standalone node.
func heartbeatCounter(s *Server, result string, f func(heartbeat.Stats) uint64) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "relaynode_heartbeats_total", Help: "Heartbeats into the gateway, by result: ok (accepted) or failed.",
		ConstLabels: prometheus.Labels{"result": result},
	}, func() float64 { return float64(f(s.heartbeatStats())) })
}

// quotaKind is the quota_rejections_total label of a quota refusal.
func quotaKind(err error) string {
	switch {
	case errors.Is(err, quota.ErrDraining):
		return quotaDraining
	case errors.Is(err, quota.ErrBandwidth):
		return quotaBandwidth
	case errors.Is(err, quota.ErrUserQuota):
		return quotaUser
	default:
		return quotaAllocations
	}
}

// MetricsHandler serves the node's Prometheus metrics (its own registry).
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
}

// Registry is the node's Prometheus registry, for tests and extra collectors.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }
