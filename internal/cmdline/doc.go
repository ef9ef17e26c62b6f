// Package cmdline is what relaygate's commands (relaygate, relaynode,
// relayctl) share about their command line: every flag's environment twin
// (--redis-url ⇔ RELAYGATE_REDIS_URL), read through an injected getenv and
// never echoing a secret; the daemons' YAML config file (--config), whose
// keys are flag names, weaker than the environment and the command line;
// their help listing each flag's twin, --version, and main's signals and
// exit status (2 for a usage error).
//
// It holds no flag of its own but --config and --version: each command
// keeps its flags, its prefix and its words for a bad value. It imports the
// standard library and a YAML parser only.
package cmdline
