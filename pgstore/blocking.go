package pgstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"mellium.im/xmpp/jid"
)

// BlockStore is a blocking.Store in the table block_item, where an identity
// column keeps the order the items were added. Contains is one primary-key
// lookup. It is safe for concurrent use, also from several nodes.
type BlockStore struct {
	pool *pgxpool.Pool
}

// NewBlockStore returns a BlockStore on pool, whose database Migrate has
// brought to SchemaVersion.
func NewBlockStore(pool *pgxpool.Pool) *BlockStore {
	return &BlockStore{pool: pool}
}

// Contains implements blocking.Store.
func (s *BlockStore) Contains(ctx context.Context, user, item jid.JID) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM block_item WHERE owner = $1 AND item = $2)`,
		user.Bare().String(), item.String()).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("pgstore: blocklist lookup: %w", err)
	}
	return ok, nil
}

// Items implements blocking.Store.
func (s *BlockStore) Items(ctx context.Context, user jid.JID) ([]jid.JID, error) {
	rows, err := s.pool.Query(ctx, `SELECT item, seq FROM block_item WHERE owner = $1 ORDER BY seq`, user.Bare().String())
	return scanBlocked(rows, err, nil)
}

// Block implements blocking.Store. One statement inserts the items not yet
// there; ON CONFLICT makes concurrent blocks of one item add it once.
func (s *BlockStore) Block(ctx context.Context, user jid.JID, items ...jid.JID) ([]jid.JID, error) {
	keys := distinct(items)
	if len(keys) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `INSERT INTO block_item (owner, item)
		SELECT $1, k FROM unnest($2::text[]) WITH ORDINALITY AS u(k, n) ORDER BY n
		ON CONFLICT (owner, item) DO NOTHING
		RETURNING item, seq`, user.Bare().String(), keys)
	return scanBlocked(rows, err, nil)
}

// Unblock implements blocking.Store. The items removed are returned in the
// order they were asked for; with no items, in the order they were added.
func (s *BlockStore) Unblock(ctx context.Context, user jid.JID, items ...jid.JID) ([]jid.JID, error) {
	owner := user.Bare().String()
	if len(items) == 0 {
		rows, err := s.pool.Query(ctx, `DELETE FROM block_item WHERE owner = $1 RETURNING item, seq`, owner)
		return scanBlocked(rows, err, nil)
	}
	keys := distinct(items)
	rows, err := s.pool.Query(ctx, `DELETE FROM block_item WHERE owner = $1 AND item = ANY($2::text[]) RETURNING item, seq`, owner, keys)
	return scanBlocked(rows, err, keys)
}

// distinct returns the string forms of items, each once, in order.
func distinct(items []jid.JID) []string {
	keys := make([]string, 0, len(items))
	for _, it := range items {
		if k := it.String(); !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// scanBlocked reads (item, seq) rows and returns the items ordered by seq,
// or by their position in order when order is not nil.
func scanBlocked(rows pgx.Rows, err error, order []string) ([]jid.JID, error) {
	if err != nil {
		return nil, fmt.Errorf("pgstore: blocklist: %w", err)
	}
	type row struct {
		item string
		seq  int64
	}
	var got []row
	var r row
	_, err = pgx.ForEachRow(rows, []any{&r.item, &r.seq}, func() error {
		got = append(got, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: blocklist: %w", err)
	}
	if order != nil {
		slices.SortFunc(got, func(a, b row) int { return slices.Index(order, a.item) - slices.Index(order, b.item) })
	} else {
		slices.SortFunc(got, func(a, b row) int { return cmp.Compare(a.seq, b.seq) })
	}
	var out []jid.JID
	for _, r := range got {
		j, err := jid.Parse(r.item)
		if err != nil {
			return nil, fmt.Errorf("pgstore: blocklist item with an invalid JID %q: %w", r.item, err)
		}
		out = append(out, j)
	}
	return out, nil
}
