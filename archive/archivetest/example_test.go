package archivetest_test

import (
	"testing"

	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/archive/archivetest"
)

// A host runs the kit from a test of its own archive.Store, giving it a
// fresh store per subtest.
func ExampleRun() {
	newStore := func(t *testing.T) archive.Store {
		return archive.NewMemStore() // the host's own store, emptied or created for t
	}
	// In a _test.go file:
	_ = func(t *testing.T) { archivetest.Run(t, newStore) }
}
