package pgstore_test

import (
	"context"
	"fmt"
	"slices"
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

// TestArchiveStatementsUseIndexes checks the plans of the retention
// statements, and of the count and page statements of queries that count
// rows, on an archive of many owners: none reads the whole table (a
// sequential scan of archive).
func TestArchiveStatementsUseIndexes(t *testing.T) {
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
	type statement struct {
		name string
		sql  string
		args []any
		// bounds must all be in one index condition of the plan.
		bounds []string
	}
	statements := []statement{
		{"expire", pgstore.ExpireSQL, []any{owners, int64(5000)}, nil},
		{"trim", pgstore.TrimSQL, []any{owners, int64(10)}, nil},
	}
	// user7's records are those with i = 7 (mod 500); ch0's of them, i = 7
	// (mod 3500).
	id := func(i int) string { return fmt.Sprintf("%010d", i) }
	for _, q := range []struct {
		name   string
		q      archive.Query
		bounds []string
	}{
		{"after-id before-id", archive.Query{Max: 10, AfterID: id(20007), BeforeID: id(80007)},
			[]string{"(id > '0000020007'", "(id < '0000080007'"}},
		{"with after-id", archive.Query{Max: 10, With: jid.MustParse("ch0@mix.example"), AfterID: id(35007)},
			[]string{"(with_jid = 'ch0@mix.example'", "(id > '0000035007'"}},
		{"with before-id backward", archive.Query{Max: 10, With: jid.MustParse("ch0@mix.example"), BeforeID: id(70007), Last: true},
			[]string{"(with_jid = 'ch0@mix.example'", "(id < '0000070007'"}},
		{"ids", archive.Query{Max: 10, IDs: []string{id(507), id(1007), id(99507)}},
			[]string{"(id = ANY ('{0000000507,0000001007,0000099507}'"}},
		{"after-id before", archive.Query{Max: 10, AfterID: id(20007), Before: id(50007)},
			[]string{"(id > '0000020007'"}},
	} {
		countSQL, countArgs, pageSQL, pageArgs := pgstore.ArchiveQuerySQL(jid.MustParse(owners[0]), q.q)
		require.Contains(t, countSQL, "count(*) FROM archive ", "%s: the selection's rows are counted", q.name)
		statements = append(statements,
			statement{q.name + " count", countSQL, countArgs, q.bounds},
			statement{q.name + " page", pageSQL, pageArgs, q.bounds})
	}
	for _, tc := range statements {
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
		if tc.bounds != nil {
			require.True(t, slices.ContainsFunc(plan, func(line string) bool {
				return strings.Contains(line, "Index Cond:") && containsAll(line, tc.bounds)
			}), "%s reads the index range %q:\n%s", tc.name, tc.bounds, text)
		}
	}
}

// containsAll reports whether s contains every one of subs.
func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
