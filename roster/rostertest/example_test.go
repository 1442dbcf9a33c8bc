package rostertest_test

import (
	"testing"

	"github.com/mixpam/mixpam/roster"
	"github.com/mixpam/mixpam/roster/rostertest"
)

// A host runs the kit from a test of its own roster.Store, giving it a
// fresh store per subtest.
func ExampleRun() {
	newStore := func(t *testing.T) roster.Store {
		return roster.NewMemStore() // the host's own store, emptied or created for t
	}
	// In a _test.go file:
	_ = func(t *testing.T) { rostertest.Run(t, newStore) }
}
