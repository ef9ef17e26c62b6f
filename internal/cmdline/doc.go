// Package cmdline is what relaygate's commands (relaygate, relaynode,
// relayctl) share about their command line: every flag's environment twin
// (--redis-url ⇔ RELAYGATE_REDIS_URL), read through an injected getenv and
// never echoing a secret, and main's signals and exit status.
//
// It holds no flag of its own: each command keeps its flags, its prefix,
// its order of flags and environment, and its words for a bad value. It
// imports the standard library only.
package cmdline
