package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/archive"
)

// Query implements archive.Store in one read-only, repeatable-read
// transaction, so the count and the page agree. Pages are read through the
// primary key (owner, id), or (owner, with_jid, id) with a With filter, from
// the After or Before id, in either direction. The count of a selection
// without Start or End is a row of archive_owner, or of archive_with with a
// With filter; with Start or End the selected rows are counted.
func (s *ArchiveStore) Query(ctx context.Context, owner jid.JID, q archive.Query) (archive.Page, error) {
	sel := selection{args: []any{owner.Bare().String()}}
	sel.where = "owner = $1"
	if q.With.String() != "" {
		sel.add("with_jid = ", q.With.Bare().String())
	}
	if !q.Start.IsZero() {
		sel.add("time_ns >= ", q.Start.UnixNano())
	}
	if !q.End.IsZero() {
		sel.add("time_ns <= ", q.End.UnixNano())
	}
	byTime := !q.Start.IsZero() || !q.End.IsZero()

	var anchors []string
	for _, id := range []string{q.After, q.Before} {
		if id != "" && !slices.Contains(anchors, id) {
			anchors = append(anchors, id)
		}
	}
	backward := q.Before != "" || q.Last
	page := sel
	order := "id"
	switch {
	case q.Before != "":
		page.add("id < ", q.Before)
		order = "id DESC"
	case backward:
		order = "id DESC"
	case q.After != "":
		page.add("id > ", q.After)
	}
	limit := max(q.Max, 0) + 1 // one more tells whether the page is complete

	var result archive.Page
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var b pgx.Batch
		b.Queue(`SELECT count(*) FROM archive WHERE owner = $1 AND id = ANY($2::text[])`, sel.args[0], anchors)
		switch {
		case byTime:
			b.Queue(`SELECT count(*) FROM archive WHERE `+sel.where, sel.args...)
		case len(sel.args) > 1:
			b.Queue(`SELECT coalesce((SELECT records FROM archive_with WHERE owner = $1 AND with_jid = $2), 0)`, sel.args...)
		default:
			b.Queue(`SELECT coalesce((SELECT records FROM archive_owner WHERE owner = $1), 0)`, sel.args[0])
		}
		b.Queue(`SELECT id, with_jid, time_ns, stanza FROM archive WHERE `+page.where+
			` ORDER BY `+order+` LIMIT `+strconv.Itoa(limit), page.args...)
		res := tx.SendBatch(ctx, &b)
		defer res.Close()
		var found, count int64
		if err := res.QueryRow().Scan(&found); err != nil {
			return err
		}
		if found != int64(len(anchors)) {
			return archive.ErrNotFound
		}
		if err := res.QueryRow().Scan(&count); err != nil {
			return err
		}
		rows, err := res.Query()
		if err != nil {
			return err
		}
		recs, err := scanRecords(rows)
		if err != nil {
			return err
		}
		result.Count = int(count)
		result.Complete = len(recs) < limit
		recs = recs[:min(len(recs), limit-1)]
		if backward {
			slices.Reverse(recs)
		}
		result.Records = recs
		return res.Close()
	})
	switch {
	case errors.Is(err, archive.ErrNotFound):
		return archive.Page{}, err
	case err != nil:
		return archive.Page{}, fmt.Errorf("pgstore: archive query: %w", err)
	}
	return result, nil
}

// selection is a WHERE clause and its arguments.
type selection struct {
	where string
	args  []any
}

// add appends "AND cond $n" with arg as $n.
func (s *selection) add(cond string, arg any) {
	s.args = append(slices.Clone(s.args), arg)
	s.where += " AND " + cond + "$" + strconv.Itoa(len(s.args))
}

func scanRecords(rows pgx.Rows) ([]archive.Record, error) {
	var (
		out      []archive.Record
		id, with string
		ns       int64
		stanza   []byte
	)
	_, err := pgx.ForEachRow(rows, []any{&id, &with, &ns, &stanza}, func() error {
		w, err := jid.Parse(with)
		if err != nil {
			return fmt.Errorf("archived record %s with an invalid JID %q: %w", id, with, err)
		}
		out = append(out, archive.Record{ID: id, With: w, Time: time.Unix(0, ns).UTC(), Stanza: slices.Clone(stanza)})
		return nil
	})
	return out, err
}
