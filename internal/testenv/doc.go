// Package testenv holds helpers shared by this module's tests: signing
// tokens, finding free loopback ports, collecting a child's output, building
// the module's commands, running them as child processes, waiting for their
// log lines, and polling for a state with a deadline (Eventually).
//
// It is for tests only. It may import golang-jwt and the standard library,
// nothing else.
package testenv
