package archivetest

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/internal/kit"
)

// Sizes of the retention subtests.
const (
	keep           = 5
	retainers      = 8
	perRetainer    = 40
	concurrentKeep = 50
)

var retentionTests = []kit.Test[storeWith]{
	{Name: "RetentionMaxRecords", F: testRetentionMaxRecords},
	{Name: "RetentionDropsOldestByID", F: testRetentionDropsOldestByID},
	{Name: "RetentionPerOwner", F: testRetentionPerOwner},
	{Name: "RetentionFilteredCount", F: testRetentionFilteredCount},
	{Name: "RetentionMaxAge", F: testRetentionMaxAge},
	{Name: "RetentionAgeThenCount", F: testRetentionAgeThenCount},
	{Name: "RetentionConcurrentAppends", F: testRetentionConcurrentAppends},
}

func testRetentionMaxRecords(t kit.T, newStore storeWith) {
	s := newStore(archive.Retention{MaxRecords: keep})
	all := records(1, 12, coven)
	for i, r := range all {
		appendAll(t, s, juliet, []archive.Record{r})
		kept := all[max(0, i+1-keep) : i+1]
		q := archive.Query{Max: 100}
		requirePage(t, q, query(t, s, juliet, q), kept, len(kept), true)
	}
	// A dropped record appended again is the oldest: it stays out.
	appendAll(t, s, juliet, []archive.Record{all[2]})
	q := archive.Query{Max: 100}
	requirePage(t, q, query(t, s, juliet, q), all[7:], keep, true)
	// Its id is no longer in the archive (XEP-0313 item-not-found).
	requireNotFound(t, s, juliet, archive.Query{Max: 10, After: all[2].ID})
	q = archive.Query{Max: 2, Last: true}
	requirePage(t, q, query(t, s, juliet, q), all[10:], keep, false)
}

func testRetentionDropsOldestByID(t kit.T, newStore storeWith) {
	s := newStore(archive.Retention{MaxRecords: keep})
	all := records(1, 30, coven)
	appendShuffled(t, s, juliet, all)
	q := archive.Query{Max: 100}
	requirePage(t, q, query(t, s, juliet, q), all[len(all)-keep:], keep, true)
}

func testRetentionPerOwner(t kit.T, newStore storeWith) {
	s := newStore(archive.Retention{MaxRecords: keep})
	mine := records(1, 20, coven)
	theirs := records(5, 7, spells)
	appendAll(t, s, romeo, theirs)
	appendAll(t, s, juliet, mine)
	q := archive.Query{Max: 100}
	requirePage(t, q, query(t, s, juliet, q), mine[len(mine)-keep:], keep, true)
	requirePage(t, q, query(t, s, romeo, q), theirs, len(theirs), true)
}

// testRetentionFilteredCount checks the Count of queries filtered by With
// after records of both channels were dropped, by count and by age.
func testRetentionFilteredCount(t kit.T, newStore storeWith) {
	s := newStore(archive.Retention{MaxRecords: keep, MaxAge: time.Hour})
	var all []archive.Record
	for i := 1; i <= 12; i++ {
		ch := coven
		if i%3 == 0 {
			ch = spells
		}
		r := aged(i, time.Duration(20-i)*time.Minute)
		r.With = ch
		all = append(all, r)
	}
	all[10] = aged(11, 2*time.Hour) // coven, past MaxAge
	appendAll(t, s, juliet, all)
	// Kept: the 5 newest young enough: 7, 8, 9, 10, 12.
	kept := []archive.Record{all[6], all[7], all[8], all[9], all[11]}
	for _, ch := range []jid.JID{coven, spells} {
		want := slices.DeleteFunc(slices.Clone(kept), func(r archive.Record) bool { return !r.With.Equal(ch) })
		q := archive.Query{Max: 100, With: ch}
		requirePage(t, q, query(t, s, juliet, q), want, len(want), true)
	}
}

// aged returns record i with a Time age before now (whole seconds, UTC).
func aged(i int, age time.Duration) archive.Record {
	r := record(i, coven)
	r.Time = time.Now().UTC().Truncate(time.Second).Add(-age)
	return r
}

func testRetentionMaxAge(t kit.T, newStore storeWith) {
	s := newStore(archive.Retention{MaxAge: time.Hour})
	old := []archive.Record{aged(1, 5*time.Hour), aged(2, 3*time.Hour)}
	fresh := []archive.Record{aged(3, 30*time.Minute), aged(4, 10*time.Minute)}
	appendAll(t, s, juliet, old[:1])
	appendAll(t, s, juliet, fresh[:1])
	appendAll(t, s, juliet, old[1:])
	appendAll(t, s, juliet, fresh[1:])
	q := archive.Query{Max: 100}
	requirePage(t, q, query(t, s, juliet, q), fresh, len(fresh), true)
	for _, r := range old {
		requireNotFound(t, s, juliet, archive.Query{Max: 10, Before: r.ID})
	}
}

// testRetentionAgeThenCount checks that the records past MaxAge go before
// the count is applied: the archive keeps as many records as MaxRecords
// allows among those young enough.
func testRetentionAgeThenCount(t kit.T, newStore storeWith) {
	s := newStore(archive.Retention{MaxRecords: 3, MaxAge: time.Hour})
	recs := []archive.Record{
		aged(1, 50*time.Minute), aged(2, 40*time.Minute), aged(3, 30*time.Minute),
		aged(4, 20*time.Minute),
		aged(5, 2*time.Hour), // newest by ID, oldest by Time: past MaxAge
	}
	appendAll(t, s, juliet, recs)
	q := archive.Query{Max: 100}
	requirePage(t, q, query(t, s, juliet, q), recs[1:4], 3, true)
}

// testRetentionConcurrentAppends runs appenders of interleaved records
// against a store keeping concurrentKeep: afterwards exactly the newest
// concurrentKeep records remain.
func testRetentionConcurrentAppends(t kit.T, newStore storeWith) {
	s := newStore(archive.Retention{MaxRecords: concurrentKeep})
	ctx := t.Context()
	errs := make([]error, retainers)
	var wg sync.WaitGroup
	for a := range retainers {
		wg.Go(func() {
			for i := range perRetainer {
				n := i*retainers + a
				if err := s.Append(ctx, juliet, record(n, coven)); err != nil {
					errs[a] = fmt.Errorf("Append(%d): %w", n, err)
					return
				}
			}
		})
	}
	wg.Wait()
	for a, err := range errs {
		kit.NoError(t, err, "appender %d", a)
	}
	total := retainers * perRetainer
	q := archive.Query{Max: total}
	p := query(t, s, juliet, q)
	kit.Equal(t, concurrentKeep, p.Count, "Count after %d concurrent appends keeping %d", total, concurrentKeep)
	// Appends race, so an older record may arrive after newer ones and be
	// dropped at once; whatever the order, a record is dropped only when
	// the archive holds concurrentKeep newer ones, so the newest remain.
	requirePage(t, q, p, records(total-concurrentKeep, total-1, coven), concurrentKeep, true)
}
