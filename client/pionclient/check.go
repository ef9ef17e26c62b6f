package pionclient

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/ice/v4"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// CheckCandidate returns nil when the ICE candidate c ("candidate:…", as in
// ICECandidateInit.Candidate, or without the prefix) is safe to signal: a
// relay candidate whose related address is absent or blank (unspecified
// address, port 0 as browsers write it or BlankRelatedPort as Harden's
// sockets report it). Otherwise it wraps ErrUnsafeCandidate and says which
// rule failed, never the address.
func CheckCandidate(c string) error {
	cand, err := ice.UnmarshalCandidate(c)
	if err != nil {
		return fmt.Errorf("%w: not a candidate", ErrUnsafeCandidate) // pion's error would repeat it
	}
	if cand.Type() != ice.CandidateTypeRelay {
		return fmt.Errorf("%w: type %s, want relay", ErrUnsafeCandidate, cand.Type())
	}
	if r := cand.RelatedAddress(); r != nil && (!blank(r.Address) || !blankPort(r.Port)) {
		return fmt.Errorf("%w: related address is not blank", ErrUnsafeCandidate)
	}
	// pion reads raddr and rport only right after the type and takes them
	// for extensions elsewhere; other parsers may not. Wherever they stand,
	// they must be blank.
	// And every reader must find the type where RFC 8839 puts it, the
	// eighth field: pion tolerates empty fields, a reader splitting on
	// blanks does not.
	f := strings.Fields(strings.TrimPrefix(c, "candidate:"))
	if len(f) < 8 || f[6] != "typ" || f[7] != "relay" {
		return fmt.Errorf("%w: not in the RFC 8839 form", ErrUnsafeCandidate)
	}
	for i, k := range f {
		switch {
		case k == "raddr" && (i+1 == len(f) || f[i+1] == "" || !blank(f[i+1])):
			return fmt.Errorf("%w: a raddr is not blank", ErrUnsafeCandidate)
		case k == "rport" && (i+1 == len(f) || (f[i+1] != "0" && f[i+1] != strconv.Itoa(BlankRelatedPort))):
			return fmt.Errorf("%w: an rport is not blank", ErrUnsafeCandidate)
		}
	}
	return nil
}

// blankPort reports whether p is a related port that names no socket.
func blankPort(p int) bool { return p == 0 || p == BlankRelatedPort }

// blank reports whether addr is absent or an unspecified IP address.
func blank(addr string) bool {
	if addr == "" {
		return true
	}
	ip, err := netip.ParseAddr(addr)
	return err == nil && ip.IsUnspecified()
}

// CheckSDP returns nil when the session description s is safe to signal:
// every candidate passes CheckCandidate, and the origin and connection
// addresses (o=, c=, a=rtcp) are unspecified, as pion writes them. It
// counts no candidates: see LocalDescription for that.
func CheckSDP(s string) error {
	_, err := checkSDP(s)
	return err
}

// checkSDP is CheckSDP that also counts the candidates.
func checkSDP(s string) (candidates int, err error) {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(s); err != nil {
		return 0, fmt.Errorf("%w: does not parse", ErrUnsafeSDP)
	}
	if d.Origin.UnicastAddress != "" && !blank(d.Origin.UnicastAddress) {
		return 0, fmt.Errorf("%w: origin address is not unspecified", ErrUnsafeSDP)
	}
	check := func(where string, ci *sdp.ConnectionInformation, attrs []sdp.Attribute) error {
		if ci != nil && ci.Address != nil && !blank(ci.Address.Address) {
			return fmt.Errorf("%w: %s connection address is not unspecified", ErrUnsafeSDP, where)
		}
		for _, a := range attrs {
			switch a.Key {
			case sdp.AttrKeyCandidate:
				if err := CheckCandidate(a.Value); err != nil {
					return fmt.Errorf("%s candidate %d: %w", where, candidates, err)
				}
				candidates++
			case "rtcp": // a=rtcp:<port> [<nettype> <addrtype> <address>]
				if f := strings.Fields(a.Value); len(f) > 1 && (len(f) != 4 || !blank(f[3])) {
					return fmt.Errorf("%w: %s rtcp address is not unspecified", ErrUnsafeSDP, where)
				}
			}
		}
		return nil
	}
	if err := check("session", d.ConnectionInformation, d.Attributes); err != nil {
		return 0, err
	}
	for i, m := range d.MediaDescriptions {
		if err := check(fmt.Sprintf("media %d", i), m.ConnectionInformation, m.Attributes); err != nil {
			return 0, err
		}
	}
	return candidates, nil
}

// LocalDescription sets d (an offer or answer pc created) as pc's local
// description, waits until ICE gathering is complete (bounded by ctx), and
// returns the local description to signal: it carries every candidate
// (no trickle needed), and CheckSDP passed on it. It fails with
// ErrNoRelayCandidate when no relay could be reached, and never returns a
// description that fails CheckSDP.
func LocalDescription(ctx context.Context, pc *webrtc.PeerConnection, d webrtc.SessionDescription) (webrtc.SessionDescription, error) {
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(d); err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("pionclient: set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return webrtc.SessionDescription{}, fmt.Errorf("pionclient: ICE gathering: %w", ctx.Err())
	}
	ld := pc.LocalDescription()
	if ld == nil {
		return webrtc.SessionDescription{}, errors.New("pionclient: no local description after gathering")
	}
	n, err := checkSDP(ld.SDP)
	if err != nil {
		return webrtc.SessionDescription{}, err
	}
	if n == 0 {
		return webrtc.SessionDescription{}, ErrNoRelayCandidate
	}
	return *ld, nil
}

// OnICECandidate is pc.OnICECandidate for trickle ICE: f gets each
// gathered candidate that passes CheckCandidate, then nil when gathering
// is complete. A candidate that fails is withheld: f never sees it. Like
// pion's, it replaces any handler set before.
func OnICECandidate(pc *webrtc.PeerConnection, f func(*webrtc.ICECandidate)) {
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil && CheckCandidate(c.ToJSON().Candidate) != nil {
			return
		}
		f(c)
	})
}
