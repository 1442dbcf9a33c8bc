package pgstore_test

import (
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/internal/pgtest"
	"github.com/mixpam/mixpam/pgstore"
)

// TestMigrateConcurrently starts several "nodes" migrating one empty
// database at once: all succeed, and each migration is applied and recorded
// once.
func TestMigrateConcurrently(t *testing.T) {
	pool := pgtest.Pool(t)
	const nodes = 6
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { errs[i] = pgstore.Migrate(t.Context(), pool) })
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "node %d", i)
	}
	rows, err := pool.Query(t.Context(), `SELECT version FROM mixpam_schema ORDER BY version`)
	require.NoError(t, err)
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	require.NoError(t, err)
	require.Len(t, versions, pgstore.SchemaVersion(), "one row per migration")
	require.EqualValues(t, pgstore.SchemaVersion(), versions[len(versions)-1])

	require.NoError(t, pgstore.Migrate(t.Context(), pool), "Migrate of an up-to-date database")
}

// TestMigrateRefusesNewerSchema: a database migrated by a newer program is
// left alone.
func TestMigrateRefusesNewerSchema(t *testing.T) {
	pool := pgtest.Pool(t)
	require.NoError(t, pgstore.Migrate(t.Context(), pool))
	_, err := pool.Exec(t.Context(), `INSERT INTO mixpam_schema (version, name) VALUES ($1, 'future')`, pgstore.SchemaVersion()+1)
	require.NoError(t, err)
	require.ErrorContains(t, pgstore.Migrate(t.Context(), pool), "newer")
}

// TestKeysCollateC checks that every text column of the schema that is a
// key or an order compares bytes (COLLATE "C"), as Go's strings.Compare
// does, whatever the database's default collation: only the display and
// payload columns may use the default.
func TestKeysCollateC(t *testing.T) {
	pool := pgtest.Pool(t)
	require.NoError(t, pgstore.Migrate(t.Context(), pool))
	rows, err := pool.Query(t.Context(), `SELECT table_name || '.' || column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND data_type = 'text'
		AND collation_name IS DISTINCT FROM 'C' ORDER BY 1`)
	require.NoError(t, err)
	other, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"mixpam_schema.name", "roster_item.name", "roster_item.participant_id", "roster_item.subscription"}, other,
		"text columns without COLLATE \"C\"")
}
