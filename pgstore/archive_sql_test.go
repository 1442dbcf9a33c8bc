package pgstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/internal/pgtest"
	"github.com/mixpam/mixpam/pgstore"
)

// TestGroupCommitBatches appends concurrently to a store with one committer
// that waits for more appends: they share transactions, and each Append
// returned only once its record was committed (another connection sees it).
func TestGroupCommitBatches(t *testing.T) {
	pool := pgtest.Pool(t)
	require.NoError(t, pgstore.Migrate(t.Context(), pool))
	s, err := pgstore.NewArchiveStore(pool, pgstore.ArchiveConfig{Committers: 1, MaxBatch: 16, MaxWait: 50 * time.Millisecond})
	require.NoError(t, err)
	defer s.Close()
	const appenders = 64
	owner := jid.MustParse("juliet@capulet.example")
	errs := make([]error, appenders)
	var wg sync.WaitGroup
	for i := range appenders {
		wg.Go(func() {
			id := fmt.Sprintf("%04d", i)
			if errs[i] = s.Append(t.Context(), owner, archive.Record{ID: id, With: jid.MustParse("coven@mix.example"), Time: time.Now(), Stanza: []byte("<message/>")}); errs[i] != nil {
				return
			}
			conn, err := pgx.Connect(t.Context(), pool.Config().ConnConfig.ConnString())
			if err != nil {
				errs[i] = err
				return
			}
			defer conn.Close(context.Background())
			var n int
			if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM archive WHERE owner = $1 AND id = $2`, owner.String(), id).Scan(&n); err != nil || n != 1 {
				errs[i] = fmt.Errorf("record %s after its Append returned: %d rows, %v", id, n, err)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "appender %d", i)
	}
	st := s.Stats()
	require.EqualValues(t, appenders, st.Appends)
	require.GreaterOrEqual(t, st.Commits, int64(appenders/16), "at most MaxBatch appends per commit")
	require.Less(t, st.Commits, int64(appenders/2), "concurrent appends share commits")
	t.Logf("%d appends in %d commits", st.Appends, st.Commits)
}

// TestRetentionUsesIndexes checks the plans of the retention and paging
// statements on an archive of many owners: none reads the whole table
// (a sequential scan of archive).
func TestRetentionUsesIndexes(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := t.Context()
	require.NoError(t, pgstore.Migrate(ctx, pool))
	_, err := pool.Exec(ctx, `INSERT INTO archive (owner, id, with_jid, time_ns, stanza)
		SELECT 'user' || (i % 500) || '@example.org', lpad(i::text, 10, '0'), 'ch' || (i % 7) || '@mix.example', i, '\x00'
		FROM generate_series(1, 100000) AS i`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO archive_owner SELECT owner, count(*) FROM archive GROUP BY owner;
		INSERT INTO archive_with SELECT owner, with_jid, count(*) FROM archive GROUP BY owner, with_jid`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `ANALYZE archive; ANALYZE archive_owner; ANALYZE archive_with`)
	require.NoError(t, err)
	owners := []string{"user7@example.org", "user8@example.org"}
	for _, tc := range []struct {
		name string
		sql  string
		args []any
	}{
		{"expire", pgstore.ExpireSQL, []any{owners, int64(5000)}},
		{"trim", pgstore.TrimSQL, []any{owners, int64(10)}},
	} {
		tx, err := pool.Begin(ctx)
		require.NoError(t, err)
		rows, err := tx.Query(ctx, "EXPLAIN "+tc.sql, tc.args...)
		require.NoError(t, err)
		plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		require.NoError(t, tx.Rollback(ctx))
		text := strings.Join(plan, "\n")
		require.NotContains(t, text, "Seq Scan on archive ", "%s reads the whole table:\n%s", tc.name, text)
		require.Contains(t, text, "Index", "%s:\n%s", tc.name, text)
	}
}
