//go:build !race

package pam

// fanOutRace reports a build with the race detector, whose instrumentation
// allocates where the compiler otherwise would not.
const fanOutRace = false
