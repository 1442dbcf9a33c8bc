// Package loadtest holds the load and reliability tests of the example
// server: mixload (cmd/mixload, internal/mixload) against the real server
// with its built-in MIX service, in process, and the reliability campaign
// of issue 15 (no loss across reconnects, faults, a soak). It has no code
// of its own outside its tests.
package loadtest
