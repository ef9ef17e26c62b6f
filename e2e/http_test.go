package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/store/storetest"
)

// request makes one request to the gateway with a bearer token and, when
// body is not nil, body as JSON; it returns the status and the answer's
// body, or the error of a request that got no answer.
func request(t *testing.T, method, url, token string, body any) (int, []byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	code, _, b, err := testenv.Call(ctx, method, url, token, body)
	return code, b, err
}

// send is request for an answer the test needs: no answer fails the test.
func send(t *testing.T, method, url, token string, body any) (int, []byte) {
	t.Helper()
	code, b, err := request(t, method, url, token, body)
	if err != nil {
		t.Fatal(err)
	}
	return code, b
}

// adminToken is an operator's token for the tests' gateways.
func adminToken(t *testing.T) string {
	return testenv.Token(t, adminJWTSecret, "ops", time.Hour)
}

// admin sends an operator's request to the gateway and returns the status
// and body.
func admin(t *testing.T, method, url string, body any) (int, []byte) {
	t.Helper()
	return send(t, method, url, adminToken(t), body)
}

// adminGet GETs path from gateway with an admin token into v; an error for
// no answer or one other than 200.
func adminGet(t *testing.T, gateway, path string, v any) error {
	t.Helper()
	code, b, err := request(t, http.MethodGet, gateway+path, adminToken(t), nil)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("GET %s = %d: %s", path, code, b)
	}
	return json.Unmarshal(b, v)
}

// forEachStore runs test as a subtest on the gateway's in-memory store and
// on Redis, with the relaygate flags that select it (a fresh key prefix,
// deleted when the subtest ends).
func forEachStore(t *testing.T, test func(t *testing.T, storeArgs []string)) {
	for _, backend := range []string{"memory", "redis"} {
		t.Run(backend, func(t *testing.T) {
			var storeArgs []string
			if backend == "redis" {
				prefix := storetest.KeyPrefix(t)
				storetest.OpenRedis(t, store.RedisConfig{Prefix: prefix}) // deletes the prefix's keys at the end
				storeArgs = []string{"--redis-url=" + storetest.RedisURL(t), "--redis-prefix=" + prefix}
			}
			test(t, storeArgs)
		})
	}
}
