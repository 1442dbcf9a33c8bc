package archivetest_test

import (
	"testing"

	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/archive/archivetest"
)

// A host runs the kit from a test of its own archive.Store, giving it a
// fresh store per subtest that honours the retention policy the subtest asks
// for.
func ExampleRun() {
	newStore := func(t *testing.T, r archive.Retention) archive.Store {
		// The host's own store, emptied or created for t.
		return archive.NewMemStore(archive.WithRetention(r))
	}
	// In a _test.go file:
	_ = func(t *testing.T) { archivetest.Run(t, newStore) }
}
