// Package turncred is the TURN REST credential scheme, in the one place that
// both sides import: relaygate mints credentials with it and relaynode
// verifies them.
//
// The scheme is the one coturn's use-auth-secret verifies (the IETF "TURN REST
// API" draft), so stock coturn accepts what relaygate mints:
//
//	username   = "<unix expiry>:<key id>.<pseudonym>"
//	credential = base64(HMAC-SHA1(secret, username))
//
// The key id names the secret that minted the credential, so a relay holding
// several secrets during a rotation knows which one to check against (TURN's
// message integrity gives it one try, not one per secret). coturn ignores the
// part after the colon and tries each of its secrets, so the key id costs
// nothing there. The pseudonym is an HMAC of the app's user id under a key of
// the gateway's: opaque to relays and to anyone who sees the username, stable
// for one user across gateway replicas (relays enforce per-user quotas on it).
//
// Usernames minted elsewhere ("<expiry>:<anything>", e.g. by coturn's own
// tools or an app backend holding a bare secret) are un-keyed: like coturn,
// a verifier accepts them under any of its secrets (Verifier.Match), which
// keeps relaynode a drop-in for existing TURN REST deployments, rotations
// included. That costs up to one HMAC per configured secret; keyed
// usernames cost one.
//
// The package uses the standard library only. Secrets and credentials render
// redacted in fmt and slog.
package turncred
