package api

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/wire"
)

// problemTypePrefix makes problem types stable URIs (RFC 9457 §3.1.1) that
// promise nothing about a web page behind them.
const problemTypePrefix = "urn:relaygate:problem:"

// titles are the fixed, human-readable summaries of each problem type.
var titles = map[string]string{
	"invalid-body":             "Request body is invalid",
	"invalid-parameter":        "Request parameter is invalid",
	"unauthorized":             "Authentication required",
	"forbidden":                "Not allowed",
	"subject-revoked":          "Subject revoked",
	"revocation-not-found":     "No such revocation",
	"not-found":                "No such resource",
	"relay-not-found":          "No such relay",
	"method-not-allowed":       "Method not allowed",
	"body-too-large":           "Request body too large",
	"unsupported-media-type":   "Unsupported media type",
	"no-relay-available":       "No relay available",
	"no-relay-in-jurisdiction": "No relay in jurisdiction",
	"not-ready":                "Not ready",
	"internal":                 "Internal error",
	"rate-limited":             "Too many requests",
	"relay-address-refused":    "Relay address refused",
	"store-unavailable":        "Store unavailable",
}

// httpError is an error that already knows its problem+json answer.
type httpError struct {
	status int
	typ    string
	detail string
	fields []wire.FieldError
	allow  string // Allow header for 405
	// retryAfter, when positive, is sent as Retry-After in whole seconds
	// (rounded up).
	retryAfter time.Duration
}

func (e *httpError) Error() string { return "api: " + e.typ + ": " + e.detail }

func errInvalidBody(detail string, fields ...wire.FieldError) error {
	return &httpError{status: http.StatusBadRequest, typ: "invalid-body", detail: detail, fields: fields}
}

func errInvalidParam(detail string, fields ...wire.FieldError) error {
	return &httpError{status: http.StatusBadRequest, typ: "invalid-parameter", detail: detail, fields: fields}
}

func errUnauthorized(detail string) error {
	return &httpError{status: http.StatusUnauthorized, typ: "unauthorized", detail: detail}
}

func errForbidden(detail string) error {
	return &httpError{status: http.StatusForbidden, typ: "forbidden", detail: detail}
}

// notFound is satisfied by any error that means "no such thing" (store's,
// for one), so api needs no import to recognise it.
type notFound interface{ NotFound() bool }

// unavailable is satisfied by any error that means "the backend did not
// answer; the same call may succeed later" (store's UnavailableError, for
// one).
type unavailable interface{ Unavailable() bool }

// refusedAddresses is satisfied by any error that refuses a heartbeat for
// some of its addresses (gateway's AddressError, for one): why, by index in
// the heartbeat's addresses.
type refusedAddresses interface{ RefusedAddresses() map[int]string }

// problemFor maps any error to its answer, in this one place.
func problemFor(err error) *httpError {
	var he *httpError
	var nf notFound
	var ra refusedAddresses
	var ua unavailable
	switch {
	case errors.As(err, &he):
		return he
	case errors.As(err, &nf) && nf.NotFound():
		return &httpError{status: http.StatusNotFound, typ: "relay-not-found", detail: "no live relay has this id"}
	case errors.As(err, &ra):
		return errAddressRefused(ra.RefusedAddresses())
	case errors.As(err, &ua) && ua.Unavailable():
		return &httpError{status: http.StatusServiceUnavailable, typ: "store-unavailable",
			detail: "the registry store is unreachable; retry after Retry-After seconds"}
	case errors.Is(err, relay.ErrOutsideJurisdiction):
		return &httpError{status: http.StatusConflict, typ: "no-relay-in-jurisdiction",
			detail: "no eligible relay is in a country the jurisdiction policy permits (the operator's, narrowed by the token's and the request's)"}
	case errors.Is(err, relay.ErrNoCandidate):
		return &httpError{status: http.StatusServiceUnavailable, typ: "no-relay-available",
			detail: "no healthy relay offers the requested transports; retry shortly"}
	default:
		return &httpError{status: http.StatusInternalServerError, typ: "internal", detail: "the gateway could not complete the request"}
	}
}

// errAddressRefused is 422 with a field error per refused address, in
// index order.
func errAddressRefused(why map[int]string) *httpError {
	fields := make([]wire.FieldError, 0, len(why))
	for _, i := range slices.Sorted(maps.Keys(why)) {
		fields = append(fields, wire.FieldError{Field: fmt.Sprintf("addresses[%d]", i), Message: why[i]})
	}
	return &httpError{status: http.StatusUnprocessableEntity, typ: "relay-address-refused", fields: fields,
		detail: "relay addresses must be on the public Internet unless the gateway's --allow-relay-networks allows their network"}
}

// problem writes err as problem+json. Internal errors are logged once here
// with the route and request id; their text never reaches the client.
func (s *server) problem(w http.ResponseWriter, r *http.Request, err error) {
	he := problemFor(err)
	if he.typ == "store-unavailable" {
		// Relays retry within their interval, so that they are all back
		// within one interval of the store's return.
		he.retryAfter = s.heartbeatInterval()
	}
	if he.status >= 500 && he.typ == "internal" {
		s.log.ErrorContext(r.Context(), "request failed", "route", routePattern(r), "request_id", requestIDFrom(r.Context()), "err", err)
	}
	writeProblem(w, r, he)
}

func writeProblem(w http.ResponseWriter, r *http.Request, he *httpError) {
	h := w.Header()
	if he.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="relaygate"`)
	}
	if he.allow != "" {
		h.Set("Allow", he.allow)
	}
	if he.retryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(int64((he.retryAfter+time.Second-1)/time.Second), 10))
	}
	writeBody(w, he.status, contentTypeProblem, &wire.Problem{
		Type:      problemTypePrefix + he.typ,
		Title:     titles[he.typ],
		Status:    he.status,
		Detail:    he.detail,
		RequestID: requestIDFrom(r.Context()),
		Errors:    he.fields,
	})
}
