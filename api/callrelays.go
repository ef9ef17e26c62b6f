package api

import (
	"net/http"

	"github.com/relaygate/relaygate/wire"
)

// getCallRelays answers GET /v1/call-relays: the state of each relay asked
// about, from the snapshot selection reads (no I/O), so a client in a call
// moves off a draining relay while it still carries the call.
func (s *server) getCallRelays(w http.ResponseWriter, r *http.Request) {
	ids, fields := wire.ParseCallRelaysQuery(r.URL.Query())
	if fields != nil {
		s.problem(w, r, errInvalidParam("relay: 1 to 8 relay ids, each a relay= parameter", fields...))
		return
	}
	out := wire.CallRelays{Relays: make([]wire.CallRelay, len(ids))}
	for i, id := range ids {
		st, ok := s.deps.Picker.RelayState(id)
		out.Relays[i] = wire.NewCallRelay(id, st, ok)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}
