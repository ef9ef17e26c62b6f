// Package openapi owns relaygate's HTTP API contract: openapi.yaml, an
// OpenAPI 3.1 document that is the API's source of truth, embedded here so the
// gateway can serve it at /openapi.yaml and /docs and tests can check the code
// against it (see package openapitest).
//
// It holds no Go logic beyond the embed and imports nothing but the standard
// library: handlers and clients conform to the document, never the reverse.
package openapi

import _ "embed"

// Spec is openapi.yaml, verbatim: the OpenAPI 3.1 document of the relaygate API.
// Treat it as read-only.
//
//go:embed openapi.yaml
var Spec []byte
