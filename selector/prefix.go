package selector

import "net/netip"

// FNV-1a, 64 bit (the parameters hash/fnv uses), spelled out so hashing a
// prefix per request does not allocate.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// prefixHash is the client's half of the rendezvous weight: FNV-1a over the
// prefix's 16-byte address and its length, stable across processes so every
// gateway replica spreads clients the same way.
func prefixHash(p netip.Prefix) uint64 {
	h := uint64(fnvOffset64)
	if !p.IsValid() {
		return h
	}
	for _, b := range p.Addr().As16() {
		h = (h ^ uint64(b)) * fnvPrime64
	}
	return (h ^ uint64(p.Bits())) * fnvPrime64 //nolint:gosec // G115: a valid prefix's length, 0..128
}

// rendezvous is the highest-random-weight weight of one (client prefix,
// relay) pair: the two FNV-1a halves combined and run through the
// SplitMix64 finaliser, so that weights of one prefix across relays (and of
// one relay across prefixes) behave like independent uniform draws.
func rendezvous(prefix, relay uint64) uint64 {
	z := prefix ^ relay
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
