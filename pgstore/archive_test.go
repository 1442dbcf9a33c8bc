package pgstore_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/archive/archivetest"
	"github.com/mixpam/mixpam/internal/pgtest"
	"github.com/mixpam/mixpam/pgstore"
)

func TestArchiveStore(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  pgstore.ArchiveConfig
	}{
		{"GroupCommit", pgstore.ArchiveConfig{}},
		{"OneAppendPerTransaction", pgstore.ArchiveConfig{MaxBatch: 1, Committers: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			archivetest.Run(t, func(t *testing.T, r archive.Retention) archive.Store {
				cfg := tc.cfg
				cfg.Retention = r
				return newArchiveStore(t, cfg)
			})
		})
	}
}

// newArchiveStore returns an ArchiveStore on a fresh schema, closed when t
// ends.
func newArchiveStore(t testing.TB, cfg pgstore.ArchiveConfig) *pgstore.ArchiveStore {
	t.Helper()
	pool := pgtest.Pool(t)
	require.NoError(t, pgstore.Migrate(t.Context(), pool))
	s, err := pgstore.NewArchiveStore(pool, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}
