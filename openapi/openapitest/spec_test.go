package openapitest

import (
	"strconv"
	"testing"
)

// TestSpecConventions checks the rules openapi.yaml promises its readers, so
// an operation added later cannot quietly break them.
func TestSpecConventions(t *testing.T) {
	s := Load(t)
	for path, item := range s.doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			if op.Security == nil {
				t.Errorf("%s: no security of its own; set it per operation (security: [] for none)", name)
				continue
			}
			secured := len(*op.Security) > 0
			if op.Responses.Status(500) == nil {
				t.Errorf("%s: does not list 500", name)
			}
			for _, code := range []int{401, 403} {
				if got := op.Responses.Status(code) != nil; got != secured {
					t.Errorf("%s: lists %d = %t, want %t (it needs a token: %t)", name, code, got, secured, secured)
				}
			}
			if op.RequestBody != nil {
				for _, code := range []int{400, 413, 415} {
					if op.Responses.Status(code) == nil {
						t.Errorf("%s: takes a body but does not list %d", name, code)
					}
				}
				if c := op.RequestBody.Value.Content; len(c) != 1 || c["application/json"] == nil {
					t.Errorf("%s: request body must be application/json only", name)
				} else if ap := c["application/json"].Schema.Value.AdditionalProperties.Has; ap == nil || *ap {
					t.Errorf("%s: request body schema must set additionalProperties: false", name)
				}
			}
			if op.OperationID == "" {
				t.Errorf("%s: no operationId", name)
			}
			for status, resp := range op.Responses.Map() {
				code, err := strconv.Atoi(status)
				if err != nil {
					t.Errorf("%s: response %q is not a status code", name, status)
					continue
				}
				if code < 400 {
					continue
				}
				if c := resp.Value.Content; len(c) != 1 || c["application/problem+json"] == nil {
					t.Errorf("%s: response %d must be application/problem+json only", name, code)
				}
				if resp.Ref == "" {
					t.Errorf("%s: response %d must $ref components/responses", name, code)
				}
			}
		}
	}
}
