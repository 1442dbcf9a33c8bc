package blockingtest_test

import (
	"testing"

	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/blocking/blockingtest"
)

// A host runs the kit from a test of its own blocking.Store, giving it a
// fresh store per subtest.
func ExampleRun() {
	newStore := func(t *testing.T) blocking.Store {
		return blocking.NewMemStore() // the host's own store, emptied or created for t
	}
	// In a _test.go file:
	_ = func(t *testing.T) { blockingtest.Run(t, newStore) }
}
