package api

import (
	"encoding/json"
	"testing"
)

// FuzzClaims: whatever the strict decoder accepts has only JSON numbers
// (or null) for exp, nbf and iat, and whatever plain decoding sees as a
// string there, it refuses.
func FuzzClaims(f *testing.F) {
	for _, s := range []string{
		`{"sub":"alice","exp":1764072000}`,
		`{"sub":"alice","exp":"1e10"}`,
		`{"sub":"alice","exp":1e10,"nbf":-1.5,"iat":null}`,
		`{"sub":"alice","exp":1764072000,"aud":["a","b"],"iss":"x"}`,
		`{"exp":99999999999999999999}`,
		`{"iat":"1764072000","exp":1}`,
		`{"exp":true}`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c claims
		if err := json.Unmarshal(b, &c); err != nil {
			return
		}
		var loose map[string]any
		if err := json.Unmarshal(b, &loose); err != nil {
			return // not an object (null): nothing decoded
		}
		for _, name := range []string{"exp", "nbf", "iat"} {
			switch loose[name].(type) {
			case nil, float64:
			default:
				t.Fatalf("%s accepted with %s = %#v", b, name, loose[name])
			}
		}
	})
}
