package pgstore_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/internal/pgtest"
	"github.com/mixpam/mixpam/pgstore"
	"github.com/mixpam/mixpam/roster"
	"github.com/mixpam/mixpam/roster/rostertest"
)

func TestRosterStore(t *testing.T) {
	rostertest.Run(t, func(t *testing.T) roster.Store {
		pool := pgtest.Pool(t)
		require.NoError(t, pgstore.Migrate(t.Context(), pool))
		return pgstore.NewRosterStore(pool)
	})
}
