//go:build interop && race

package interop

// raceBuild reports that the server is built with the race detector, as the
// tests are.
const raceBuild = true
