package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/relaygate/relaygate/wire"
)

// validator is a request body that can check its own fields (package
// wire's request types).
type validator interface {
	Validate() []wire.FieldError
}

// decodeValid reads one JSON object of type T from r's body and validates
// it. An empty body is allowed only when optional (T's zero value is then
// validated and returned). Errors are httpErrors: 413 past MaxBodyBytes, 415
// for anything but application/json, 400 for malformed JSON, unknown fields,
// wrong types, trailing data and invalid values.
func decodeValid[T validator](w http.ResponseWriter, r *http.Request, optional bool) (T, error) {
	var zero T
	switch {
	case r.ContentLength > MaxBodyBytes:
		return zero, errTooLarge()
	case r.ContentLength == 0: // known to be empty: nothing to read
		return zero, emptyBody[T](optional)
	}
	return decodeBody[T](w, r, optional)
}

// emptyBody is decodeValid's error for a body known to be empty: none when
// the body is optional and T's zero value is valid. It is a function of its
// own because decodeBody's v escapes (the decoder takes its address): here
// nothing does, so the usual request, with no body, allocates nothing.
func emptyBody[T validator](optional bool) error {
	if !optional {
		return errInvalidBody("request body is required")
	}
	var v T
	return validated(v)
}

// decodeBody reads and validates a body that may be present.
func decodeBody[T validator](w http.ResponseWriter, r *http.Request, optional bool) (T, error) {
	var v T
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	// Peek one byte to tell an empty body from a present one.
	var first [1]byte
	n, err := io.ReadFull(body, first[:])
	if n == 0 {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return v, errTooLarge()
		case errors.Is(err, io.EOF) && optional:
			return v, validated(v)
		case errors.Is(err, io.EOF):
			return v, errInvalidBody("request body is required")
		default:
			return v, errInvalidBody("request body could not be read")
		}
	}
	if err := checkJSONContentType(r); err != nil {
		return v, err
	}
	dec := json.NewDecoder(io.MultiReader(strings.NewReader(string(first[:])), body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return v, errTooLarge()
		}
		return v, errInvalidBody("request body must hold exactly one JSON object")
	}
	return v, validated(v)
}

// validated is v's validation as an error; generic so that v is not boxed
// into an interface (which would put it on the heap).
func validated[T validator](v T) error {
	if fe := v.Validate(); len(fe) > 0 {
		return errInvalidBody("request body has invalid fields", fe...)
	}
	return nil
}

func errTooLarge() error {
	return &httpError{status: http.StatusRequestEntityTooLarge, typ: "body-too-large",
		detail: fmt.Sprintf("request body exceeds %d bytes", MaxBodyBytes)}
}

func checkJSONContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return &httpError{status: http.StatusUnsupportedMediaType, typ: "unsupported-media-type",
			detail: "request body must be application/json"}
	}
	return nil
}

// decodeError turns encoding/json's errors into a 400 that names the field
// but never echoes the offending value.
func decodeError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		return errTooLarge()
	case errors.As(err, &syn):
		return errInvalidBody(fmt.Sprintf("malformed JSON at byte %d", syn.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errInvalidBody("malformed JSON: unexpected end of body")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		return errInvalidBody("a field has the wrong type",
			wire.FieldError{Field: field, Message: "must be " + jsonKind(typ.Type.Kind().String())})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return errInvalidBody("unknown field", wire.FieldError{Field: truncate(name, 64), Message: "is not a known field"})
	}
	return errInvalidBody("malformed JSON")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int64", "int32", "uint16", "uint32", "uint64":
		return "an integer"
	case "float64", "float32":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "of another type"
}

// truncate cuts a client-chosen name that an error repeats to n bytes.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
