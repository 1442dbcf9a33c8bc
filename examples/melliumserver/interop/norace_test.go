//go:build interop && !race

package interop

// raceBuild reports that the tests run with the race detector.
const raceBuild = false
