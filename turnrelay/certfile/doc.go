// Package certfile serves a TLS certificate and key kept in two PEM files
// and picks up their replacement without a restart, as ACME clients renew
// them: each file replaced by a rename, the certificate possibly before the
// key. Its Reloader is a tls.Config.GetCertificate that looks at the files'
// identity, modification time and size at most every Config.CheckEvery,
// and loads them again only when one of them changed. A pair that does not
// load (unparsable, or a certificate that does not match its key, as
// between the two renames) keeps the certificate that served so far and is
// logged once per change of the files, never per handshake.
//
// It owns nothing else: not the listeners, not the metrics (it reports the
// certificate's expiry for the caller to export), and not where the files
// come from. Standard library only.
package certfile
