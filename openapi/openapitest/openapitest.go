// Package openapitest checks HTTP traffic against relaygate's API contract,
// openapi.yaml, the way net/http/httptest helps test handlers: load the spec
// once per test with Load, then check each response (CheckResponse), each
// request a client builds (CheckRequest), every response an http.Client
// receives (Transport), or one Go value against its component schema
// (CheckSchema).
//
// A failed check is reported with t.Errorf, never t.Fatalf, so the checks are
// safe to run from any goroutine (Transport's in particular). The package is
// for tests only; it refuses to judge anything the spec does not describe, and
// it never checks authentication: tokens are the handlers' business.
package openapitest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/relaygate/relaygate/openapi"
)

// Spec is the loaded and validated API contract. It is read-only and safe for
// concurrent use.
type Spec struct {
	doc     *openapi3.T
	router  routers.Router
	schemas []openapi3.SchemaValidationOption // format validators the spec relies on
}

// Operation is one operation of the spec.
type Operation struct {
	Method string // upper case, e.g. "PUT"
	Path   string // template as in the spec and chi, e.g. "/v1/relays/{id}"
	ID     string // operationId, e.g. "putRelayHeartbeat"
}

// embedded is the embedded spec, parsed on first use.
var embedded = sync.OnceValues(func() (*Spec, error) { return parse(openapi.Spec) })

// Load returns the embedded spec, parsed and validated once per test binary.
// It fails the test if the spec itself is invalid.
func Load(t testing.TB) *Spec {
	t.Helper()
	s, err := embedded()
	if err != nil {
		t.Fatalf("openapitest: %v", err)
		return nil
	}
	return s
}

// parse loads, validates and routes a spec.
func parse(data []byte) (*Spec, error) {
	ctx := context.Background()
	loader := openapi3.NewLoader()
	loader.Context = ctx
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("load openapi.yaml: %w", err)
	}
	// Formats kin-openapi does not check unless told to; set on the document so
	// that Validate checks the spec's examples with them too.
	doc.SetStringFormatValidators(stringFormats())
	if err := doc.Validate(ctx, openapi3.EnableExamplesValidation(), openapi3.EnableSchemaDefaultsValidation(),
		openapi3.EnableSchemaPatternValidation()); err != nil {
		return nil, fmt.Errorf("openapi.yaml is invalid: %w", err)
	}
	schemas := doc.GetSchemaValidationOptions()
	if err := checkExamples(doc, schemas); err != nil {
		return nil, fmt.Errorf("openapi.yaml is invalid: %w", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route openapi.yaml: %w", err)
	}
	// /docs is HTML; kin-openapi has no decoder for it (process-wide, idempotent).
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	return &Spec{doc: doc, router: router, schemas: schemas}, nil
}

// checkExamples validates every example against its schema with the spec's
// string formats: kin-openapi's own example validation ignores the formats a
// document registers, so an example IP address of 203.0.113.500 would pass.
func checkExamples(doc *openapi3.T, schemas []openapi3.SchemaValidationOption) error {
	opts := append(slices.Clone(schemas), openapi3.EnableJSONSchema2020(), openapi3.MultiErrors())
	var errs []error
	check := func(where string, schema *openapi3.SchemaRef, example any) {
		if schema == nil || schema.Value == nil || example == nil {
			return
		}
		if err := schema.Value.VisitJSON(example, opts...); err != nil {
			errs = append(errs, fmt.Errorf("example of %s: %w", where, err))
		}
	}
	content := func(where string, c openapi3.Content) {
		for mime, mt := range c {
			check(where+" "+mime, mt.Schema, mt.Example)
			for name, ex := range mt.Examples {
				if ex.Value != nil {
					check(where+" "+mime+" "+name, mt.Schema, ex.Value.Value)
				}
			}
		}
	}
	for name, s := range doc.Components.Schemas {
		for _, ex := range s.Value.Examples {
			check("components/schemas/"+name, s, ex)
		}
	}
	for name, p := range doc.Components.Parameters {
		check("components/parameters/"+name, p.Value.Schema, p.Value.Example)
	}
	for name, r := range doc.Components.Responses {
		content("components/responses/"+name, r.Value.Content)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if op.RequestBody != nil {
				content(where+" request", op.RequestBody.Value.Content)
			}
			for status, r := range op.Responses.Map() {
				content(where+" "+status, r.Value.Content)
			}
		}
	}
	return errors.Join(errs...)
}

// Operations lists every operation of the spec, sorted by path then method,
// for comparison with the router that serves them.
func (s *Spec) Operations() []Operation {
	var ops []Operation
	for path, item := range s.doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops = append(ops, Operation{Method: strings.ToUpper(method), Path: path, ID: op.OperationID})
		}
	}
	slices.SortFunc(ops, func(a, b Operation) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), strings.Compare(a.Method, b.Method))
	})
	return ops
}

// CheckSchema fails t unless v, marshalled with encoding/json, is a valid
// instance of components/schemas/<component>, string formats included: the
// way to hold a Go type of the contract (package wire's) to its schema.
func (s *Spec) CheckSchema(t testing.TB, component string, v any) {
	t.Helper()
	if err := s.SchemaError(component, v); err != nil {
		t.Errorf("openapitest: %T as %s: %v", v, component, err)
	}
}

// SchemaError is CheckSchema's verdict as an error, nil when v is valid, so
// a test can also require that an invalid value fails. A value that does
// not marshal, and a component the spec lacks, are errors too.
func (s *Spec) SchemaError(component string, v any) error {
	ref := s.doc.Components.Schemas[component]
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("the spec has no components/schemas/%s", component)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("marshal %T: %w", v, err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("unmarshal %T's JSON: %w", v, err)
	}
	opts := append(slices.Clone(s.schemas), openapi3.EnableJSONSchema2020(), openapi3.MultiErrors())
	return ref.Value.VisitJSON(doc, opts...)
}

// Object is an object schema of components/schemas: the members it
// defines and those it requires, each sorted.
type Object struct {
	Properties []string
	Required   []string
}

// Objects lists the object schemas of components/schemas by name, so a test
// can match them with the Go types that implement them.
func (s *Spec) Objects() map[string]Object {
	out := map[string]Object{}
	for name, ref := range s.doc.Components.Schemas {
		if ref.Value == nil || !ref.Value.Type.Is(openapi3.TypeObject) {
			continue
		}
		out[name] = Object{
			Properties: slices.Sorted(maps.Keys(ref.Value.Properties)),
			Required:   slices.Sorted(slices.Values(ref.Value.Required)),
		}
	}
	return out
}

// CheckResponse fails t unless the response (status, header, body) is one the
// spec allows for req: the status is listed for the operation req matches, the
// Content-Type is the one declared for it, the body matches its schema and the
// headers it declares required are present and valid.
//
// A request that matches no path must be answered 404, one that matches a
// path but not a method 405 with an Allow header; both with a problem+json
// body of the matching type. A CORS preflight (OPTIONS with
// Access-Control-Request-Method) is not an API operation: any 2xx passes.
//
// reqBody is the body req was sent with (req.Body is never read: it may be nil
// or consumed); nil for none. req is not modified.
func (s *Spec) CheckResponse(t testing.TB, req *http.Request, reqBody []byte, status int, header http.Header, body []byte) {
	t.Helper()
	if err := s.checkResponse(req, reqBody, status, header, body); err != nil {
		t.Errorf("openapitest: %s answered %d: %v", describe(s, req), status, err)
	}
}

// CheckRequest fails t unless req, sent with body (nil for none), is a request
// the spec allows: a known operation, valid parameters, a declared
// Content-Type and a body matching its schema. Security requirements are not
// checked, so client wire structs can be tested without tokens. req is not
// modified.
func (s *Spec) CheckRequest(t testing.TB, req *http.Request, body []byte) {
	t.Helper()
	if err := s.checkRequest(req, body); err != nil {
		t.Errorf("openapitest: request %s: %v", describe(s, req), err)
	}
}

// Transport returns a RoundTripper that sends requests through base
// (http.DefaultTransport when nil) and checks every response with
// CheckResponse. It buffers both bodies; the response body the caller reads
// is restored unchanged.
func (s *Spec) Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	return &transport{spec: s, t: t, base: cmp.Or[http.RoundTripper](base, http.DefaultTransport)}
}

type transport struct {
	spec *Spec
	t    testing.TB
	base http.RoundTripper
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	out := req
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("openapitest: read request body: %w", err)
		}
		reqBody = b
		out = req.Clone(req.Context())
		out.Body = io.NopCloser(bytes.NewReader(b))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	resp, err := tr.base.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("openapitest: read response body: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	tr.spec.CheckResponse(tr.t, req, reqBody, resp.StatusCode, resp.Header, body)
	return resp, nil
}

func (s *Spec) options() *openapi3filter.Options {
	return &openapi3filter.Options{
		AuthenticationFunc:      openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus:   true,
		MultiError:              true,
		SkipSettingDefaults:     true,
		SchemaValidationOptions: slices.Clone(s.schemas),
	}
}

// withBody returns a copy of req that reads body.
func withBody(req *http.Request, body []byte) *http.Request {
	r := req.Clone(context.Background())
	if body == nil {
		r.Body = http.NoBody
		r.ContentLength = 0
	} else {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	}
	return r
}

func (s *Spec) checkRequest(req *http.Request, body []byte) error {
	r := withBody(req, body)
	route, params, err := s.router.FindRoute(r)
	if err != nil {
		return fmt.Errorf("no operation in the spec: %w", err)
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: s.options()}
	return openapi3filter.ValidateRequest(context.Background(), in)
}

func (s *Spec) checkResponse(req *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
	if req.Method == http.MethodOptions && req.Header.Get("Access-Control-Request-Method") != "" {
		if status < 200 || status > 299 {
			return fmt.Errorf("CORS preflight answered %d, want 2xx", status)
		}
		return nil
	}
	r := withBody(req, reqBody)
	route, params, err := s.router.FindRoute(r)
	switch {
	case errors.Is(err, routers.ErrPathNotFound):
		route, err = s.unrouted(r, http.StatusNotFound, "NotFound")
	case errors.Is(err, routers.ErrMethodNotAllowed):
		route, err = s.unrouted(r, http.StatusMethodNotAllowed, "MethodNotAllowed")
	}
	if err != nil {
		return err
	}
	if route.Operation.Responses.Status(status) == nil {
		return fmt.Errorf("status %d is not listed for this operation (the spec lists %s)",
			status, strings.Join(slices.Sorted(maps.Keys(route.Operation.Responses.Map())), ", "))
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Options:                s.options(),
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return err
	}
	return nil
}

// unrouted builds a route for a request the spec has no operation for: its
// only allowed answer is the component response named name, with status.
func (s *Spec) unrouted(r *http.Request, status int, name string) (*routers.Route, error) {
	resp := s.doc.Components.Responses[name]
	if resp == nil {
		return nil, fmt.Errorf("spec lacks components/responses/%s", name)
	}
	op := openapi3.NewOperation()
	op.Responses = openapi3.NewResponses(openapi3.WithStatus(status, resp))
	return &routers.Route{Spec: s.doc, Path: r.URL.Path, Method: r.Method, Operation: op}, nil
}

// describe names a request for messages: method, the operation's path
// template, and the actual path when it differs.
func describe(s *Spec, req *http.Request) string {
	path := req.URL.Path
	if route, _, err := s.router.FindRoute(withBody(req, nil)); err == nil && route.Path != path {
		return fmt.Sprintf("%s %s (%s)", req.Method, route.Path, path)
	} else if errors.Is(err, routers.ErrPathNotFound) {
		return fmt.Sprintf("%s %s (no such path in the spec)", req.Method, path)
	} else if errors.Is(err, routers.ErrMethodNotAllowed) {
		return fmt.Sprintf("%s %s (no such method for the path in the spec)", req.Method, path)
	}
	return req.Method + " " + path
}

// stringFormats are the validators of the string formats openapi.yaml uses
// that kin-openapi does not assert by default.
func stringFormats() map[string]openapi3.StringFormatValidator {
	return map[string]openapi3.StringFormatValidator{
		"ipv4":          openapi3.NewIPValidator(true),
		"ipv6":          openapi3.NewIPValidator(false),
		"hostname":      openapi3.NewCallbackValidator(validHostname),
		"uri-reference": openapi3.NewCallbackValidator(validURIReference),
	}
}

// validHostname accepts a DNS name as RFC 1123 allows it: dot-separated
// labels of 1 to 63 letters, digits and hyphens, not starting or ending with
// a hyphen, 253 characters at most, no trailing dot.
func validHostname(s string) error {
	if s == "" || len(s) > 253 {
		return errors.New("not a hostname: length must be 1 to 253")
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return errors.New("not a hostname: each label must be 1 to 63 characters, not starting or ending with '-'")
		}
		for _, c := range []byte(label) {
			if !hostnameByte(c) {
				return errors.New("not a hostname: only letters, digits, '-' and '.' are allowed")
			}
		}
	}
	return nil
}

// hostnameByte reports whether c may stand in a hostname's label.
func hostnameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-'
}

// validURIReference accepts an RFC 3986 URI or relative reference.
func validURIReference(s string) error {
	if strings.ContainsAny(s, " \t\r\n\\\"<>{}|^`") {
		return errors.New("not a URI reference: contains a character that must be percent-encoded")
	}
	if _, err := url.Parse(s); err != nil {
		return errors.New("not a URI reference")
	}
	return nil
}
