package wire

// Problem is openapi.yaml's Problem: an RFC 9457 problem detail, the body
// of every error answer (application/problem+json). Match on Type, never on
// Title or Detail.
type Problem struct {
	Type      string       `json:"type"`  // urn:relaygate:problem:<slug>
	Title     string       `json:"title"` // fixed per Type
	Status    int          `json:"status"`
	Detail    string       `json:"detail,omitempty"`   // never an address, token or credential
	Instance  string       `json:"instance,omitempty"` // a URI reference to this occurrence
	RequestID string       `json:"request_id,omitempty"`
	Errors    []FieldError `json:"errors,omitempty"` // for invalid-body and invalid-parameter
}

// FieldError is openapi.yaml's FieldError: one invalid member of a request
// body, named as a path ("measurements[0].rtt_ms", "ports.udp"), or one
// invalid parameter. The message never repeats the offending value.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}
