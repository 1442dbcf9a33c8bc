//go:build interop && race

package interop

// raceBuild reports that the tests run with the race detector, so the
// programs under test are built with it too.
const raceBuild = true
