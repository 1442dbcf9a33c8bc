package pgstore_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

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

// TestArchiveQueryIDsNotText checks that a query id PostgreSQL text cannot
// hold (invalid UTF-8, a NUL byte), which no Append can have stored, gives
// archive.ErrNotFound, as any other unknown id does, not a database error.
func TestArchiveQueryIDsNotText(t *testing.T) {
	s := newArchiveStore(t, pgstore.ArchiveConfig{})
	owner := jid.MustParse("juliet@capulet.example")
	require.NoError(t, s.Append(t.Context(), owner, archive.Record{ID: "a", With: jid.MustParse("coven@mix.example"), Time: time.Now(), Stanza: []byte("<message/>")}))
	for _, q := range []archive.Query{
		{Max: 10, After: "\xff"},
		{Max: 10, Before: "a\x00"},
		{Max: 10, AfterID: "\xff"},
		{Max: 10, BeforeID: "a\x00"},
		{Max: 10, IDs: []string{"a", "a\x00"}},
	} {
		_, err := s.Query(t.Context(), owner, q)
		require.ErrorIs(t, err, archive.ErrNotFound, "Query %+q %+q %+q %+q %+q", q.After, q.Before, q.AfterID, q.BeforeID, q.IDs)
	}
}
