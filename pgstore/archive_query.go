package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/archive"
)

// Query implements archive.Store in one read-only, repeatable-read
// transaction, so the count and the page agree. Pages are read through the
// primary key (owner, id), or (owner, with_jid, id) with a With filter, from
// the After or Before id, in either direction; AfterID, BeforeID and IDs
// narrow the same index range (id > AfterID, id < BeforeID, id = ANY(IDs)).
// The count of a selection filtered by With alone, or not at all, is a row
// of archive_with or archive_owner; with Start, End, AfterID, BeforeID or
// IDs the selected rows are counted.
func (s *ArchiveStore) Query(ctx context.Context, owner jid.JID, q archive.Query) (archive.Page, error) {
	st := newQueryStatements(owner, q)
	if slices.ContainsFunc(st.anchors, notText) {
		return archive.Page{}, archive.ErrNotFound // Append cannot have stored it
	}
	var result archive.Page
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var b pgx.Batch
		b.Queue(`SELECT count(*) FROM archive WHERE owner = $1 AND id = ANY($2::text[])`, st.owner, st.anchors)
		b.Queue(st.count.sql, st.count.args...)
		b.Queue(st.page.sql, st.page.args...)
		res := tx.SendBatch(ctx, &b)
		defer res.Close()
		var found, count int64
		if err := res.QueryRow().Scan(&found); err != nil {
			return err
		}
		if found != int64(len(st.anchors)) {
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
		result.Complete = len(recs) < st.limit
		recs = recs[:min(len(recs), st.limit-1)]
		if st.backward {
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

// queryStatements are the statements of one archive query.
type queryStatements struct {
	owner string
	// anchors are the ids of the query, each once, that must all be in the
	// owner's archive.
	anchors []string
	// count gives the number of records in the selection.
	count statement
	// page selects the page's records, one more than Max, in the direction
	// of paging.
	page statement
	// backward reports that page reads in descending id order.
	backward bool
	// limit is the LIMIT of page: Max + 1.
	limit int
}

// statement is one SQL statement and its arguments.
type statement struct {
	sql  string
	args []any
}

// newQueryStatements returns the statements that answer q on owner's
// archive.
func newQueryStatements(owner jid.JID, q archive.Query) queryStatements {
	st := queryStatements{owner: owner.Bare().String()}
	sel := selection{where: "owner = $1", args: []any{st.owner}}
	if q.With.String() != "" {
		sel.add("with_jid = $", q.With.Bare().String())
	}
	if !q.Start.IsZero() {
		sel.add("time_ns >= $", q.Start.UnixNano())
	}
	if !q.End.IsZero() {
		sel.add("time_ns <= $", q.End.UnixNano())
	}
	if q.AfterID != "" {
		sel.add("id > $", q.AfterID)
	}
	if q.BeforeID != "" {
		sel.add("id < $", q.BeforeID)
	}
	if len(q.IDs) > 0 {
		sel.add("id = ANY($::text[])", q.IDs)
	}
	// archive_owner and archive_with count the selections of no filter and
	// of With alone; any other filter counts the selected rows.
	counted := !q.Start.IsZero() || !q.End.IsZero() || q.AfterID != "" || q.BeforeID != "" || len(q.IDs) > 0
	switch {
	case counted:
		st.count = statement{`SELECT count(*) FROM archive WHERE ` + sel.where, sel.args}
	case q.With.String() != "":
		st.count = statement{`SELECT coalesce((SELECT records FROM archive_with WHERE owner = $1 AND with_jid = $2), 0)`, sel.args}
	default:
		st.count = statement{`SELECT coalesce((SELECT records FROM archive_owner WHERE owner = $1), 0)`, sel.args}
	}

	// IDs may repeat one another and the other ids.
	st.anchors = slices.Clone(q.IDs)
	for _, id := range []string{q.After, q.Before, q.AfterID, q.BeforeID} {
		if id != "" {
			st.anchors = append(st.anchors, id)
		}
	}
	slices.Sort(st.anchors)
	st.anchors = slices.Compact(st.anchors)

	st.backward = q.Before != "" || q.Last
	page := sel
	order := "id"
	switch {
	case q.Before != "":
		page.add("id < $", q.Before)
		order = "id DESC"
	case st.backward:
		order = "id DESC"
	case q.After != "":
		page.add("id > $", q.After)
	}
	st.limit = max(q.Max, 0) + 1 // one more tells whether the page is complete
	st.page = statement{`SELECT id, with_jid, time_ns, stanza FROM archive WHERE ` + page.where +
		` ORDER BY ` + order + ` LIMIT ` + strconv.Itoa(st.limit), page.args}
	return st
}

// notText reports whether PostgreSQL text cannot hold id: invalid UTF-8, or
// a NUL byte.
func notText(id string) bool {
	return !utf8.ValidString(id) || strings.IndexByte(id, 0) >= 0
}

// selection is a WHERE clause and its arguments.
type selection struct {
	where string
	args  []any
}

// add appends "AND cond" with arg as the parameter that the one $ in cond
// stands for.
func (s *selection) add(cond string, arg any) {
	s.args = append(slices.Clone(s.args), arg)
	s.where += " AND " + strings.Replace(cond, "$", "$"+strconv.Itoa(len(s.args)), 1)
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
