package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/relaygate/relaygate/internal/metric"
	"github.com/relaygate/relaygate/relay"
)

// Metrics are the API's Prometheus collectors. Labels are bounded: route
// patterns, methods, status codes, roles, reasons, bases, and the primary
// relay's region (capped at relay.MaxRegionLabels values); never an address, a
// user or any other relay-chosen string. Label values known up front are
// created with the collectors, so every family is exported, at zero, from
// the first scrape.
type Metrics struct {
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	authFailures  *prometheus.CounterVec
	credentials   *prometheus.CounterVec
	credsByRegion *prometheus.CounterVec
	regions       relay.RegionLabels
	heartbeats    prometheus.Counter
	rateLimited   *prometheus.CounterVec
	// revokedRefusals counts credentials refused to revoked subjects.
	revokedRefusals prometheus.Counter
}

// authReasons are every reason label of relaygate_auth_failures_total:
// tokenFailure's values, and the two refusals of a token that verified.
var authReasons = []string{
	"expired", "non_numeric_date", "missing_iat", "too_old", "issued_in_future", "not_yet_valid",
	"missing_claim", "bad_signature", "wrong_issuer_or_audience", "bad_country_claim", "malformed", "invalid",
	"wrong_role", "subject_mismatch",
}

// NewMetrics creates the collectors and registers them on reg (nil: not
// registered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests:        metric.CounterVec("relaygate_http_requests_total", "HTTP requests by route pattern, method and status.", []string{"route", "method", "status"}),
		duration:        metric.HistogramVec("relaygate_http_request_duration_seconds", "HTTP request latency by route pattern.", []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}, []string{"route"}),
		authFailures:    metric.CounterVec("relaygate_auth_failures_total", "Refused tokens by required role and reason.", []string{"role", "reason"}),
		credentials:     metric.CounterVec("relaygate_credentials_issued_total", "TURN credentials minted, by the primary relay's selection basis.", []string{"basis"}),
		credsByRegion:   metric.CounterVec("relaygate_credentials_issued_by_region_total", "TURN credentials minted, by the primary relay's region (\"none\" when it names none, \"other\" past "+strconv.Itoa(relay.MaxRegionLabels)+" regions).", []string{"region"}),
		heartbeats:      metric.Counter("relaygate_heartbeats_total", "Relay heartbeats accepted."),
		rateLimited:     metric.CounterVec("relaygate_rate_limited_total", "Requests refused with 429, by the rate-limit scope that refused them.", []string{"scope"}),
		revokedRefusals: metric.Counter("relaygate_credentials_refused_revoked_total", "Credential requests refused because an operator revoked the token's subject."),
	}
	for r := range numRoles {
		for _, reason := range authReasons {
			m.authFailures.WithLabelValues(r.String(), reason)
		}
	}
	for _, b := range []relay.Basis{relay.BasisMeasured, relay.BasisGeo, relay.BasisFallback} {
		m.credentials.WithLabelValues(string(b))
	}
	for _, sc := range []string{scopeUser, scopePrefix, scopeMeasurements, scopeRelay} {
		m.rateLimited.WithLabelValues(sc)
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration, m.authFailures, m.credentials, m.credsByRegion, m.heartbeats, m.rateLimited, m.revokedRefusals)
	}
	return m
}

// initRoutes creates the request series of every route of router at zero:
// its latency, and its requests by method with status 200, so that a
// dashboard's rates start from the first scrape.
func (m *Metrics) initRoutes(router chi.Routes) {
	_ = chi.Walk(router, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if method = methodLabel(method); method != "OTHER" {
			m.requests.WithLabelValues(route, method, statusLabels[http.StatusOK-100])
			m.duration.WithLabelValues(route)
		}
		return nil
	})
}

// issued counts one credential whose primary relay is c.
func (m *Metrics) issued(c relay.Choice) {
	m.credentials.WithLabelValues(string(c.Basis)).Inc()
	m.credsByRegion.WithLabelValues(m.regions.Label(c.Relay.Region)).Inc()
}

// methodLabel bounds the method for metrics and logs: it is client-chosen text.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// statusLabels are the status codes as label values, made once rather than
// per request.
var statusLabels = func() (l [500]string) {
	for i := range l {
		l[i] = strconv.Itoa(100 + i)
	}
	return l
}()

func statusLabel(status int) string {
	if status >= 100 && status < 100+len(statusLabels) {
		return statusLabels[status-100]
	}
	return strconv.Itoa(status)
}

func (m *Metrics) observe(method, route string, status int, d time.Duration) {
	method = methodLabel(method)
	m.requests.WithLabelValues(route, method, statusLabel(status)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

func (s *server) getMetrics(w http.ResponseWriter, r *http.Request) {
	if s.deps.MetricsHandler == nil {
		writeProblem(w, r, &httpError{status: http.StatusNotFound, typ: "not-found", detail: "metrics are not enabled"})
		return
	}
	s.deps.MetricsHandler.ServeHTTP(w, r)
}
