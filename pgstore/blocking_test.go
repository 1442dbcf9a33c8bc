package pgstore_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/blocking/blockingtest"
	"github.com/mixpam/mixpam/internal/pgtest"
	"github.com/mixpam/mixpam/pgstore"
)

func TestBlockStore(t *testing.T) {
	blockingtest.Run(t, func(t *testing.T) blocking.Store {
		pool := pgtest.Pool(t)
		require.NoError(t, pgstore.Migrate(t.Context(), pool))
		return pgstore.NewBlockStore(pool)
	})
}
