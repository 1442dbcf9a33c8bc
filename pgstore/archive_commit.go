package pgstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// appendSQL inserts a batch of records, ignoring those already archived,
// and adds the numbers inserted to archive_owner (per owner) and
// archive_with (per conversation). Rows are locked in key order, the
// archive_owner rows (the main query) before the archive_with rows (a
// WITH query the main query does not read, run after it), so concurrent
// batches cannot deadlock on them.
const appendSQL = `WITH ins AS (
	INSERT INTO archive (owner, id, with_jid, time_ns, stanza)
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bytea[])
	ON CONFLICT (owner, id) DO NOTHING
	RETURNING owner, with_jid
), per_with AS (
	INSERT INTO archive_with AS aw (owner, with_jid, records)
	SELECT owner, with_jid, count(*) FROM ins GROUP BY owner, with_jid ORDER BY owner, with_jid
	ON CONFLICT (owner, with_jid) DO UPDATE SET records = aw.records + excluded.records
), added AS (
	SELECT owner, count(*) AS n FROM ins GROUP BY owner ORDER BY owner
)
INSERT INTO archive_owner AS ao (owner, records) SELECT owner, n FROM added
ON CONFLICT (owner) DO UPDATE SET records = ao.records + excluded.records`

// uncountSQL is the tail of a deletion from archive: given the CTE gone
// with the (owner, with_jid) of each deleted row, it subtracts them from
// archive_owner and archive_with.
const uncountSQL = `, per_with AS (
	UPDATE archive_with aw SET records = aw.records - g.n
	FROM (SELECT owner, with_jid, count(*) AS n FROM gone GROUP BY owner, with_jid) g
	WHERE aw.owner = g.owner AND aw.with_jid = g.with_jid
)
UPDATE archive_owner ao SET records = ao.records - g.n
FROM (SELECT owner, count(*) AS n FROM gone GROUP BY owner) g
WHERE ao.owner = g.owner`

// expireSQL deletes the records of the given owners older than a cutoff,
// through the index on (owner, time_ns), and updates their counts.
const expireSQL = `WITH gone AS (
	DELETE FROM archive WHERE owner = ANY($1::text[]) AND time_ns < $2 RETURNING owner, with_jid
)` + uncountSQL

// trimSQL deletes, for each of the given owners with more than $2 records,
// the oldest (smallest id) beyond $2, reading only those from the primary
// key's start, and updates their counts.
const trimSQL = `WITH over AS (
	SELECT owner, records - $2 AS excess FROM archive_owner WHERE owner = ANY($1::text[]) AND records > $2
), doomed AS (
	SELECT over.owner, d.id FROM over
	CROSS JOIN LATERAL (SELECT id FROM archive WHERE archive.owner = over.owner ORDER BY id LIMIT over.excess) d
), gone AS (
	DELETE FROM archive a USING doomed WHERE a.owner = doomed.owner AND a.id = doomed.id RETURNING a.owner, a.with_jid
)` + uncountSQL

// commitRetries is how often a batch is tried again after a deadlock or
// serialization failure, which PostgreSQL asks clients to retry.
const commitRetries = 3

// commit writes batch in one transaction: the records, then the retention
// policy for their owners. The statements go in one round trip (a pgx
// batch runs in one implicit transaction).
func (s *ArchiveStore) commit(batch []*appendReq) error {
	reqs := slices.Clone(batch)
	slices.SortFunc(reqs, func(a, b *appendReq) int {
		return cmp.Or(cmp.Compare(a.owner, b.owner), cmp.Compare(a.rec.ID, b.rec.ID))
	})
	reqs = slices.CompactFunc(reqs, func(a, b *appendReq) bool { return a.owner == b.owner && a.rec.ID == b.rec.ID })
	n := len(reqs)
	owners, ids, withs := make([]string, n), make([]string, n), make([]string, n)
	times, stanzas := make([]int64, n), make([][]byte, n)
	for i, r := range reqs {
		owners[i], ids[i], withs[i] = r.owner, r.rec.ID, r.rec.With.String()
		times[i], stanzas[i] = r.rec.Time.UnixNano(), r.rec.Stanza
	}
	distinctOwners := slices.Compact(slices.Clone(owners))

	var b pgx.Batch
	b.Queue(appendSQL, owners, ids, withs, times, stanzas)
	if cutoff := s.cfg.Retention.Cutoff(s.cfg.Now()); !cutoff.IsZero() {
		b.Queue(expireSQL, distinctOwners, cutoff.UnixNano())
	}
	if m := s.cfg.Retention.MaxRecords; m > 0 {
		b.Queue(trimSQL, distinctOwners, int64(m))
	}
	var err error
	for range commitRetries {
		ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
		err = s.pool.SendBatch(ctx, &b).Close()
		cancel()
		if !retryable(err) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("pgstore: archive append: %w", err)
	}
	return nil
}

// retryable reports a deadlock or serialization failure.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}
