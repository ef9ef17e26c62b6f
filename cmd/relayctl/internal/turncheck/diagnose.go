package turncheck

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/pion/stun/v4"

	"github.com/relaygate/relaygate/turnrelay/turncred"
)

// turnCode is the error code of a TURN error response inside err, or 0.
func turnCode(err error) int {
	var pte *stun.TurnError
	if errors.As(err, &pte) {
		return int(pte.ErrorCodeAttr.Code)
	}
	var te stun.TurnError
	if errors.As(err, &te) {
		return int(te.ErrorCodeAttr.Code)
	}
	return 0
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errNoAnswer) ||
		(errors.As(err, &ne) && ne.Timeout()) ||
		// pion's transaction gave up retransmitting
		(err != nil && strings.Contains(err.Error(), "all retransmissions failed"))
}

// diagnose turns a failure at stage into one plain sentence.
func diagnose(stage Stage, err error, u URL, cfg Config, relayed string) string {
	wait := cfg.Timeout.String()
	switch stage {
	case StageResolve:
		return fmt.Sprintf("cannot resolve %s: %v", u.Host, unwrapDNS(err))
	case StageConnect:
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return "port closed (connection refused)"
		case isTimeout(err):
			return fmt.Sprintf("no answer to the TCP connection within %s (a firewall drops it, or the host is down)", wait)
		case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
			return "network unreachable from here: " + err.Error()
		}
		return "cannot connect: " + err.Error()
	case StageTLS:
		return "TLS handshake failed: " + tlsReason(err, u, wait)
	case StageAllocate:
		code := turnCode(err)
		switch {
		case code == 401:
			return credentialsRefused(cfg)
		case code == 403:
			return "allocation forbidden (403 Forbidden)"
		case code == 437:
			return "allocation mismatch (437): this 5-tuple already holds an allocation"
		case code == 441:
			return "credentials refused: wrong credentials (441)"
		case code == 486:
			return "allocation quota reached (486): this user holds as many allocations as the relay allows"
		case code == 508:
			return "relay out of capacity (508 Insufficient Capacity): it is full or draining"
		case code != 0:
			return fmt.Sprintf("Allocate refused: %v", err)
		case isTimeout(err) && u.Transport == UDP:
			return fmt.Sprintf("no answer to Allocate within %s: UDP is blocked on this network, or nothing listens on %s", wait, u.Addr())
		case isTimeout(err):
			return fmt.Sprintf("connected, but no answer to Allocate within %s: is this a TURN server?", wait)
		}
		return "Allocate failed: " + err.Error()
	case StagePermission:
		switch code := turnCode(err); {
		case code == 403:
			ip := "<relayed IP>"
			if h, _, err := net.SplitHostPort(relayed); err == nil {
				ip = h
			}
			return fmt.Sprintf("peer refused (403 Forbidden): the relay denies its own relayed address %s as a peer; allow it in the relay's peer filter (relaynode --allow-peers %s) to run this check", ip, hostPrefix(ip))
		case code == 401:
			return "CreatePermission refused (401): " + credentialsRefused(cfg)
		case code != 0:
			return fmt.Sprintf("CreatePermission refused: %v", err)
		case isTimeout(err):
			return fmt.Sprintf("allocated, but no answer to CreatePermission within %s", wait)
		}
		return "CreatePermission failed: " + err.Error()
	case StageData:
		if errors.Is(err, errNoData) {
			return fmt.Sprintf("allocated and permitted, but none of %d packets came back through the relay (it cannot reach its own relayed address?)", cfg.Count)
		}
		return "sending through the relay failed: " + err.Error()
	}
	return err.Error()
}

// credentialsRefused explains a 401 to an authenticated request: if the
// username says it has expired, that is why; otherwise the relay does not
// know the secret that signed it (or the realm differs).
func credentialsRefused(cfg Config) string {
	u, err := turncred.ParseUsername(cfg.Username)
	if err != nil {
		return "credentials refused (401 Unauthorized): the username is not a TURN REST username (<expiry>:<user>)"
	}
	now := cfg.Now()
	if u.Expired(now) {
		return fmt.Sprintf("credentials refused: expired at %s (%s ago) (401 Unauthorized)",
			u.Expires().UTC().Format(time.RFC3339), now.Sub(u.Expires()).Round(time.Second))
	}
	return "credentials refused: wrong secret (401 Unauthorized): the relay does not accept the secret that signed them"
}

func tlsReason(err error, u URL, wait string) string {
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		return "certificate signed by unknown authority (pass --ca-file, or --insecure-skip-verify to test anyway)"
	case errors.As(err, &he):
		return fmt.Sprintf("certificate is not valid for %s: %v", u.Host, he)
	case errors.As(err, &ci):
		return "certificate invalid: " + ci.Error()
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, net.ErrClosed):
		return "the server closed the connection during the handshake (not a TLS port?)"
	case isTimeout(err):
		return "no TLS answer within " + wait + " (not a TLS port?)"
	}
	return err.Error()
}

func unwrapDNS(err error) error {
	var de *net.DNSError
	if errors.As(err, &de) {
		return errors.New(de.Err)
	}
	return err
}

// hostPrefix is the one-address CIDR of ip, for --allow-peers advice.
func hostPrefix(ip string) string {
	if strings.Contains(ip, ":") {
		return ip + "/128"
	}
	return ip + "/32"
}
