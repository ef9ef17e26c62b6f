package gateway

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ErrConfig wraps every Config validation failure; the wrapped errors name
// the setting and the bad value.
var ErrConfig = errors.New("gateway: invalid config")

// ErrDeps means New lacks a required dependency; the wrapping error names it.
var ErrDeps = errors.New("gateway: missing dependency")

// ErrStatic wraps SetStatic's refusals of a set of static relays other
// than their addresses' (those are AddressErrors).
var ErrStatic = errors.New("gateway: static relays refused")

// ErrNoRevocations means the store keeps no revocations (a test's fake
// store): Revoke and Unrevoke cannot be carried out.
var ErrNoRevocations = errors.New("gateway: the store keeps no revocations")

// ErrReused means Run was called on a Gateway that has already run.
var ErrReused = errors.New("gateway: Run called more than once")

// AddressError means a heartbeat named relay addresses outside the public
// Internet, in networks Config.AllowRelayNetworks does not allow. Its
// message names the addresses and their ranges: relay addresses are the
// operator's, never a client's.
type AddressError struct {
	RelayID string
	Refused []RefusedAddress // in the order of the relay's addresses
}

// RefusedAddress is one address an AddressError refuses.
type RefusedAddress struct {
	Index int          // its position in the relay's (and the heartbeat's) addresses
	Addr  netip.Addr   // the address
	Range netip.Prefix // the range outside the public Internet it falls into
}

// Error names the relay and each refused address with its range.
func (e *AddressError) Error() string {
	parts := make([]string, len(e.Refused))
	for i, r := range e.Refused {
		parts[i] = fmt.Sprintf("%v in %v", r.Addr, r.Range)
	}
	return fmt.Sprintf("gateway: relay %q: addresses outside the public Internet: %s", e.RelayID, strings.Join(parts, ", "))
}

// RefusedAddresses says why each refused address was refused, by its
// index in the heartbeat's addresses: api answers 422 with a field error
// per entry, without importing this package.
func (e *AddressError) RefusedAddresses() map[int]string {
	out := make(map[int]string, len(e.Refused))
	for _, r := range e.Refused {
		out[r.Index] = fmt.Sprintf("in %v, which is not the public Internet: relays may have addresses there only where the gateway's operator allows the network", r.Range)
	}
	return out
}

// ErrNoUsage means the store keeps no usage (Deps.Usage is nil).
var ErrNoUsage = errors.New("gateway: this store keeps no usage")
