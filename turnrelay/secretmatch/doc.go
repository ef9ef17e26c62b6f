// Package secretmatch lets relaynode accept un-keyed TURN REST usernames
// ("<expiry>:<user>", as coturn's tools and most app backends mint them)
// under any of its secrets, as coturn does with several
// static-auth-secrets, so a secret rotation does not lock such clients out.
//
// pion/turn asks its AuthHandler for one long-term key per request and
// checks MESSAGE-INTEGRITY against it, without showing the handler the
// message. So the Matcher looks at requests on the packet path, before
// pion reads them: it wraps the UDP listener sockets (PacketConn) and the
// TCP and TLS listeners (Listener, framing the stream as pion does), finds
// which secret's key makes a signed request's MESSAGE-INTEGRITY verify, and
// remembers it for that request's source address and username. The
// AuthHandler then asks Password, which hands the matching secret's
// password over once; without a match it returns nothing and the handler
// keeps to the newest secret (so pion answers 401 to a password no secret
// made).
//
// What it costs: nothing for data (ChannelData, Send indications) and for
// requests that are unsigned, keyed ("<expiry>:<key id>.<...>", relaygate's
// own: they go straight to their secret in the AuthHandler) or expired
// where expiry applies (refused before any HMAC). For a signed request with
// an un-keyed username it copies the message (at most 64 KiB, typically
// ~150 bytes) and tries the secrets newest first: per secret one
// HMAC-SHA1 for the password, one MD5 for the key and one HMAC-SHA1 over
// the message, so at most that many times the number of configured
// secrets (a handful), and once for clients of the newest secret. Memory:
// a remembered match lives until its request is authenticated; at most
// MaxPending are kept.
//
// A remembered match is only a hint: whatever it says, pion still checks
// MESSAGE-INTEGRITY with the key the AuthHandler returns, and that key is
// always one of the configured secrets'. Only a client holding a password
// of a configured secret can create one. Nothing here logs; usernames,
// passwords and addresses never leave the Matcher.
package secretmatch
