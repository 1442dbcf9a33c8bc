// Package archivetest is a conformance kit for archive.Store
// implementations, in the spirit of testing/fstest: a host that archives MIX
// messages (XEP-0405 §2.11) in its own message store runs
//
//	func TestStore(t *testing.T) {
//		archivetest.Run(t, func(t *testing.T, r archive.Retention) archive.Store { return newMyStore(t, r) })
//	}
//
// and gets one subtest per rule of the archive.Store contract, including
// XEP-0059 paging forwards and backwards as XEP-0313 uses it, and of the
// archive.Retention policy, which every store must honour. The kit needs a
// fresh, empty store for every subtest, honouring the Retention it passes
// (the zero Retention, keeping everything, outside the Retention subtests).
//
// The kit's records have second-precision UTC times and ASCII, fixed-width
// IDs, so that a store with coarser clocks or collation-dependent ordering
// of non-ASCII strings can still pass.
package archivetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/internal/kit"
)

// Run tests the archive.Store returned by newStore against the contract
// documented on archive.Store, archive.Query, archive.Page and
// archive.Retention, in subtests. newStore is called once per subtest and
// must return an empty store that honours r; it may register cleanups on t.
func Run(t *testing.T, newStore func(t *testing.T, r archive.Retention) archive.Store) {
	t.Helper()
	run(kit.FromTesting(t), kit.Adapt(func(t *testing.T) storeWith {
		return func(r archive.Retention) archive.Store { return newStore(t, r) }
	}))
}

// storeWith returns a new, empty store honouring r.
type storeWith func(r archive.Retention) archive.Store

// JIDs the kit uses, from XEP-0369's examples.
var (
	juliet = jid.MustParse("juliet@capulet.example")
	romeo  = jid.MustParse("romeo@montague.example")
	coven  = jid.MustParse("coven@mix.shakespeare.example")
	spells = jid.MustParse("spells@mix.shakespeare.example")
)

// Sizes of the paging and concurrency subtests.
const (
	bigArchive  = 1000
	appenders   = 8
	perAppender = 100
)

var tests = []kit.Test[archive.Store]{
	{Name: "EmptyArchive", F: testEmptyArchive},
	{Name: "AppendQueryRoundTrip", F: testAppendQueryRoundTrip},
	{Name: "AppendIdempotent", F: testAppendIdempotent},
	{Name: "OrderedByID", F: testOrderedByID},
	{Name: "OwnersIsolated", F: testOwnersIsolated},
	{Name: "FilterWith", F: testFilterWith},
	{Name: "FilterStartEndInclusive", F: testFilterStartEnd},
	{Name: "FilterCombined", F: testFilterCombined},
	{Name: "ForwardPaging", F: testForwardPaging},
	{Name: "BackwardPaging", F: testBackwardPaging},
	{Name: "LastIgnoredWithBefore", F: testLastIgnoredWithBefore},
	{Name: "CompleteOnExactBoundary", F: testCompleteOnExactBoundary},
	{Name: "MaxZero", F: testMaxZero},
	{Name: "UnknownAfterBefore", F: testUnknownAfterBefore},
	{Name: "PagingOutsideSelection", F: testPagingOutsideSelection},
	{Name: "FilterAfterBeforeID", F: testFilterAfterBeforeID},
	{Name: "FilterIDs", F: testFilterIDs},
	{Name: "UnknownExtendedIDs", F: testUnknownExtendedIDs},
	{Name: "Paging1000Forward", F: testPaging1000Forward},
	{Name: "Paging1000Backward", F: testPaging1000Backward},
	{Name: "ConcurrentAppends", F: testConcurrentAppends},
	{Name: "NoAliasing", F: testNoAliasing},
}

func run(t kit.T, newStore func(kit.T) storeWith) {
	t.Helper()
	kit.RunAll(t, tests, func(t kit.T) archive.Store {
		if f := newStore(t); f != nil {
			return f(archive.Retention{})
		}
		return nil
	})
	kit.RunAll(t, retentionTests, newStore)
}

var epoch = time.Date(2026, time.March, 4, 5, 6, 7, 0, time.UTC)

// record returns the kit's record number i: ID i (8 digits), archived i
// seconds after epoch.
func record(i int, with jid.JID) archive.Record {
	id := fmt.Sprintf("%08d", i)
	return archive.Record{
		ID:   id,
		With: with,
		Time: epoch.Add(time.Duration(i) * time.Second),
		Stanza: fmt.Appendf(nil,
			`<message from="%s/123456" to="juliet@capulet.example" id="m%d" type="groupchat"><body>message %d &amp; &lt;more&gt;</body><mix xmlns="urn:xmpp:mix:core:1"><nick>thirdwitch</nick><jid>123456#%s</jid></mix></message>`,
			with, i, i, with),
	}
}

// records returns records first..last (inclusive) with the given channel.
func records(first, last int, with jid.JID) []archive.Record {
	var out []archive.Record
	for i := first; i <= last; i++ {
		out = append(out, record(i, with))
	}
	return out
}

func appendAll(t kit.T, s archive.Store, owner jid.JID, recs []archive.Record) {
	t.Helper()
	for _, r := range recs {
		kit.NoError(t, s.Append(t.Context(), owner, r), "Append(%s, %s)", owner, r.ID)
	}
}

// appendShuffled appends recs in a fixed pseudo-random order.
func appendShuffled(t kit.T, s archive.Store, owner jid.JID, recs []archive.Record) {
	t.Helper()
	shuffled := slices.Clone(recs)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	appendAll(t, s, owner, shuffled)
}

func query(t kit.T, s archive.Store, owner jid.JID, q archive.Query) archive.Page {
	t.Helper()
	p, err := s.Query(t.Context(), owner, q)
	kit.NoError(t, err, "Query(%s, %s)", owner, describe(q))
	return p
}

// describe formats q for failure messages.
func describe(q archive.Query) string {
	s := fmt.Sprintf("{Max: %d", q.Max)
	if q.With.String() != "" {
		s += ", With: " + q.With.String()
	}
	if !q.Start.IsZero() {
		s += ", Start: +" + q.Start.Sub(epoch).String()
	}
	if !q.End.IsZero() {
		s += ", End: +" + q.End.Sub(epoch).String()
	}
	if q.After != "" {
		s += ", After: " + q.After
	}
	if q.Before != "" {
		s += ", Before: " + q.Before
	}
	if q.Last {
		s += ", Last"
	}
	if q.AfterID != "" {
		s += ", AfterID: " + q.AfterID
	}
	if q.BeforeID != "" {
		s += ", BeforeID: " + q.BeforeID
	}
	if len(q.IDs) > 0 {
		s += fmt.Sprintf(", IDs: %q", q.IDs)
	}
	return s + "}"
}

// requirePage checks that p holds exactly want, in order, and the given
// Count and Complete.
func requirePage(t kit.T, q archive.Query, p archive.Page, want []archive.Record, count int, complete bool) {
	t.Helper()
	d := describe(q)
	kit.Equal(t, ids(want), ids(p.Records), "IDs of the records of Query %s", d)
	for i := range want {
		requireRecord(t, want[i], p.Records[i], d)
	}
	kit.Equal(t, count, p.Count, "Count of Query %s", d)
	kit.Equal(t, complete, p.Complete, "Complete of Query %s", d)
}

func requireRecord(t kit.T, want, got archive.Record, context string) {
	t.Helper()
	kit.Equal(t, want.ID, got.ID, "%s: ID", context)
	kit.Equal(t, want.With.Bare().String(), got.With.String(), "%s: With of record %s", context, want.ID)
	kit.True(t, want.Time.Equal(got.Time), "%s: Time of record %s: got %v, want %v", context, want.ID, got.Time, want.Time)
	kit.Equal(t, string(want.Stanza), string(got.Stanza), "%s: Stanza of record %s", context, want.ID)
}

func ids(recs []archive.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

func requireNotFound(t kit.T, s archive.Store, owner jid.JID, q archive.Query) {
	t.Helper()
	_, err := s.Query(t.Context(), owner, q)
	if !errors.Is(err, archive.ErrNotFound) {
		t.Fatalf("Query(%s, %s): got error %v, want archive.ErrNotFound (errors.Is)", owner, describe(q), err)
	}
}

func testEmptyArchive(t kit.T, s archive.Store) {
	q := archive.Query{Max: 10}
	requirePage(t, q, query(t, s, juliet, q), nil, 0, true)
	q = archive.Query{Max: 10, Last: true}
	requirePage(t, q, query(t, s, juliet, q), nil, 0, true)
}

func testAppendQueryRoundTrip(t kit.T, s archive.Store) {
	want := []archive.Record{record(1, coven), record(2, spells), record(3, coven)}
	want[1].Stanza = []byte(`<message from="spells@mix.shakespeare.example/1" type="groupchat"><body>Ünïcödé 🜁 "quotes" 'apos'</body></message>`)
	appendAll(t, s, juliet, want)
	q := archive.Query{Max: 10}
	requirePage(t, q, query(t, s, juliet, q), want, 3, true)
}

func testAppendIdempotent(t kit.T, s archive.Store) {
	orig := record(1, coven)
	appendAll(t, s, juliet, []archive.Record{orig, record(2, coven)})

	kit.NoError(t, s.Append(t.Context(), juliet, orig), "Append of an identical record again")
	dup := record(1, spells)
	dup.Time = epoch.Add(time.Hour)
	dup.Stanza = []byte(`<message><body>a different message with the same id</body></message>`)
	kit.NoError(t, s.Append(t.Context(), juliet, dup), "Append of a different record with an existing ID must return nil")

	q := archive.Query{Max: 10}
	requirePage(t, q, query(t, s, juliet, q), []archive.Record{orig, record(2, coven)}, 2, true)
	q = archive.Query{Max: 10, With: spells}
	requirePage(t, q, query(t, s, juliet, q), nil, 0, true)
}

func testOrderedByID(t kit.T, s archive.Store) {
	want := records(1, 20, coven)
	appendShuffled(t, s, juliet, want)
	q := archive.Query{Max: 100}
	requirePage(t, q, query(t, s, juliet, q), want, 20, true)
	q = archive.Query{Max: 100, Last: true}
	requirePage(t, q, query(t, s, juliet, q), want, 20, true)
}

func testOwnersIsolated(t kit.T, s archive.Store) {
	mine := records(1, 5, coven)
	appendAll(t, s, juliet, mine)
	// Same ID, different content, other owner: not a duplicate.
	theirs := []archive.Record{record(3, spells), record(7, spells)}
	appendAll(t, s, romeo, theirs)
	sameLocal := jid.MustParse("juliet@montague.example")

	q := archive.Query{Max: 100}
	requirePage(t, q, query(t, s, juliet, q), mine, 5, true)
	requirePage(t, q, query(t, s, romeo, q), theirs, 2, true)
	requirePage(t, q, query(t, s, sameLocal, q), nil, 0, true)
	requireNotFound(t, s, juliet, archive.Query{Max: 10, After: record(7, spells).ID})
	requireNotFound(t, s, romeo, archive.Query{Max: 10, Before: record(1, coven).ID})
}

func testFilterWith(t kit.T, s archive.Store) {
	all := records(1, 12, coven)
	for i := range all {
		if i%3 == 0 {
			all[i] = record(i+1, spells)
		}
	}
	appendAll(t, s, juliet, all)
	for _, ch := range []jid.JID{coven, spells, romeo} {
		want := slices.DeleteFunc(slices.Clone(all), func(r archive.Record) bool { return !r.With.Equal(ch) })
		q := archive.Query{Max: 100, With: ch}
		requirePage(t, q, query(t, s, juliet, q), want, len(want), true)
	}
}

func at(i int) time.Time { return epoch.Add(time.Duration(i) * time.Second) }

func testFilterStartEnd(t kit.T, s archive.Store) {
	all := records(0, 9, coven)
	appendShuffled(t, s, juliet, all)
	for _, tc := range []struct {
		start, end  time.Time
		first, last int // want all[first:last+1]; last < first for none
	}{
		{start: at(3), first: 3, last: 9},
		{end: at(6), first: 0, last: 6},
		{start: at(3), end: at(6), first: 3, last: 6},
		{start: at(4), end: at(4), first: 4, last: 4},
		{start: at(0), end: at(9), first: 0, last: 9},
		{start: at(3).Add(time.Millisecond), end: at(6).Add(-time.Millisecond), first: 4, last: 5},
		{start: at(10), first: 0, last: -1},
		{end: at(-1), first: 0, last: -1},
		{start: at(6), end: at(3), first: 0, last: -1},
	} {
		var want []archive.Record
		if tc.last >= tc.first {
			want = all[tc.first : tc.last+1]
		}
		q := archive.Query{Max: 100, Start: tc.start, End: tc.end}
		requirePage(t, q, query(t, s, juliet, q), want, len(want), true)
	}
}

func testFilterCombined(t kit.T, s archive.Store) {
	all := records(0, 19, coven)
	for i := range all {
		if i%2 == 1 {
			all[i] = record(i, spells)
		}
	}
	appendShuffled(t, s, juliet, all)
	// coven records are the even ones; between 4 and 15 inclusive: 4..14.
	want := []archive.Record{all[4], all[6], all[8], all[10], all[12], all[14]}
	q := archive.Query{Max: 100, With: coven, Start: at(4), End: at(15)}
	requirePage(t, q, query(t, s, juliet, q), want, 6, true)
	q = archive.Query{Max: 2, With: coven, Start: at(4), End: at(15), After: all[6].ID}
	requirePage(t, q, query(t, s, juliet, q), want[2:4], 6, false)
	q = archive.Query{Max: 2, With: coven, Start: at(4), End: at(15), Before: all[8].ID}
	requirePage(t, q, query(t, s, juliet, q), want[:2], 6, true)
	q = archive.Query{Max: 4, With: coven, Start: at(4), End: at(15), Last: true}
	requirePage(t, q, query(t, s, juliet, q), want[2:], 6, false)
}

func testForwardPaging(t kit.T, s archive.Store) {
	all := records(0, 9, coven)
	appendShuffled(t, s, juliet, all)
	for _, tc := range []struct {
		after       string
		max         int
		first, last int
		complete    bool
	}{
		{"", 3, 0, 2, false},
		{all[2].ID, 3, 3, 5, false},
		{all[5].ID, 3, 6, 8, false},
		{all[8].ID, 3, 9, 9, true},
		{all[9].ID, 3, 0, -1, true},
		{all[0].ID, 100, 1, 9, true},
		{"", 10, 0, 9, true},
		{"", 11, 0, 9, true},
	} {
		var want []archive.Record
		if tc.last >= tc.first {
			want = all[tc.first : tc.last+1]
		}
		q := archive.Query{Max: tc.max, After: tc.after}
		requirePage(t, q, query(t, s, juliet, q), want, 10, tc.complete)
	}
}

func testBackwardPaging(t kit.T, s archive.Store) {
	all := records(0, 9, coven)
	appendShuffled(t, s, juliet, all)
	for _, tc := range []struct {
		before      string
		last        bool
		max         int
		first, stop int // want all[first:stop]
		complete    bool
	}{
		{"", true, 3, 7, 10, false},
		{all[7].ID, false, 3, 4, 7, false},
		{all[4].ID, false, 3, 1, 4, false},
		{all[1].ID, false, 3, 0, 1, true},
		{all[0].ID, false, 3, 0, 0, true},
		{all[9].ID, false, 100, 0, 9, true},
		{"", true, 10, 0, 10, true},
		{"", true, 11, 0, 10, true},
	} {
		q := archive.Query{Max: tc.max, Before: tc.before, Last: tc.last}
		requirePage(t, q, query(t, s, juliet, q), all[tc.first:tc.stop], 10, tc.complete)
	}
}

func testLastIgnoredWithBefore(t kit.T, s archive.Store) {
	all := records(0, 9, coven)
	appendAll(t, s, juliet, all)
	q := archive.Query{Max: 2, Before: all[5].ID, Last: true}
	requirePage(t, q, query(t, s, juliet, q), all[3:5], 10, false)
}

func testCompleteOnExactBoundary(t kit.T, s archive.Store) {
	all := records(0, 5, coven)
	appendAll(t, s, juliet, all)
	q := archive.Query{Max: 3}
	requirePage(t, q, query(t, s, juliet, q), all[:3], 6, false)
	q = archive.Query{Max: 3, After: all[2].ID}
	requirePage(t, q, query(t, s, juliet, q), all[3:], 6, true)
	q = archive.Query{Max: 3, Last: true}
	requirePage(t, q, query(t, s, juliet, q), all[3:], 6, false)
	q = archive.Query{Max: 3, Before: all[3].ID}
	requirePage(t, q, query(t, s, juliet, q), all[:3], 6, true)
}

func testMaxZero(t kit.T, s archive.Store) {
	all := records(0, 9, coven)
	appendAll(t, s, juliet, all)
	for _, tc := range []struct {
		q     archive.Query
		count int
	}{
		{archive.Query{}, 10},
		{archive.Query{After: all[3].ID}, 10},
		{archive.Query{Before: all[3].ID}, 10},
		{archive.Query{Last: true}, 10},
		{archive.Query{With: coven, Start: at(2), End: at(4)}, 3},
	} {
		p := query(t, s, juliet, tc.q)
		kit.Empty(t, p.Records, "Records of Query %s", describe(tc.q))
		kit.Equal(t, tc.count, p.Count, "Count of Query %s", describe(tc.q))
	}
}

func testUnknownAfterBefore(t kit.T, s archive.Store) {
	appendAll(t, s, juliet, records(0, 4, coven))
	for _, q := range []archive.Query{
		{Max: 10, After: "no-such-id"},
		{Max: 10, Before: "no-such-id"},
		{Max: 10, Before: "no-such-id", Last: true},
		{Max: 0, After: "no-such-id"},
		{Max: 10, After: record(5, coven).ID},
	} {
		requireNotFound(t, s, juliet, q)
	}
	requireNotFound(t, s, romeo, archive.Query{Max: 10, After: record(1, coven).ID})
}

// testPagingOutsideSelection pages from IDs that are in the archive but not
// in the selection: XEP-0313 §4.3.2 answers item-not-found only for IDs "not
// present in the archive", so the page starts where the ID sorts.
func testPagingOutsideSelection(t kit.T, s archive.Store) {
	all := appendMixed(t, s, appendAll)
	tests := []struct {
		q        archive.Query
		want     []archive.Record
		complete bool
	}{
		{archive.Query{Max: 10, With: coven, After: all[4].ID}, all[5:10], true},
		{archive.Query{Max: 2, With: coven, After: all[4].ID}, all[5:7], false},
		{archive.Query{Max: 10, With: coven, Before: all[4].ID}, all[0:4], true},
		{archive.Query{Max: 2, With: coven, Before: all[4].ID}, all[2:4], false},
		{archive.Query{Max: 10, Start: at(5), After: all[2].ID}, all[5:10], true},
		{archive.Query{Max: 10, End: at(5), Before: all[8].ID}, all[0:6], true},
	}
	for _, tc := range tests {
		p := query(t, s, juliet, tc.q)
		kit.Equal(t, ids(tc.want), ids(p.Records), "Query %s", describe(tc.q))
		kit.Equal(t, tc.complete, p.Complete, "Complete of Query %s", describe(tc.q))
	}
}

// testFilterAfterBeforeID checks AfterID and BeforeID: exclusive bounds
// that are part of the selection (they count), that combine with the other
// filters and with paging, and that may lie outside the selection.
func testFilterAfterBeforeID(t kit.T, s archive.Store) {
	all := appendMixed(t, s, appendAll)
	requirePages(t, s, []pageCase{
		{archive.Query{Max: 10, AfterID: all[6].ID}, all[7:10], 3, true},
		{archive.Query{Max: 10, BeforeID: all[3].ID}, all[0:3], 3, true},
		{archive.Query{Max: 10, AfterID: all[2].ID, BeforeID: all[6].ID}, all[3:6], 3, true},
		{archive.Query{Max: 10, AfterID: all[6].ID, BeforeID: all[2].ID}, nil, 0, true},
		{archive.Query{Max: 10, AfterID: all[5].ID, BeforeID: all[6].ID}, nil, 0, true},
		{archive.Query{Max: 10, With: coven, AfterID: all[2].ID, BeforeID: all[7].ID}, slices.Concat(all[3:4], all[5:7]), 3, true},
		{archive.Query{Max: 10, With: coven, AfterID: all[3].ID}, all[5:10], 5, true},
		{archive.Query{Max: 10, Start: at(5), BeforeID: all[8].ID}, all[5:8], 3, true},
		// Paging within the bounds: forward, from After, and backward.
		{archive.Query{Max: 2, AfterID: all[1].ID}, all[2:4], 8, false},
		{archive.Query{Max: 2, AfterID: all[1].ID, After: all[3].ID}, all[4:6], 8, false},
		{archive.Query{Max: 2, BeforeID: all[8].ID, Last: true}, all[6:8], 8, false},
		{archive.Query{Max: 3, AfterID: all[1].ID, BeforeID: all[8].ID, Before: all[5].ID}, all[2:5], 6, true},
		{archive.Query{Max: 0, AfterID: all[1].ID}, nil, 8, false},
	})
}

// appendMixed appends, with add, juliet's records 0 to 9, all with coven
// but record 4 with spells, and returns them.
func appendMixed(t kit.T, s archive.Store, add func(kit.T, archive.Store, jid.JID, []archive.Record)) []archive.Record {
	t.Helper()
	all := records(0, 9, coven)
	all[4] = record(4, spells)
	add(t, s, juliet, all)
	return all
}

// pageCase is a query of juliet's archive and the page it must give.
type pageCase struct {
	q        archive.Query
	want     []archive.Record
	count    int
	complete bool
}

// requirePages checks every case.
func requirePages(t kit.T, s archive.Store, cases []pageCase) {
	t.Helper()
	for _, tc := range cases {
		requirePage(t, tc.q, query(t, s, juliet, tc.q), tc.want, tc.count, tc.complete)
	}
}

// testFilterIDs checks IDs: only the records named, in ID order, each once,
// with the other filters and paging applied to them.
func testFilterIDs(t kit.T, s archive.Store) {
	all := appendMixed(t, s, appendShuffled)
	appendAll(t, s, romeo, records(0, 9, coven))
	requirePages(t, s, []pageCase{
		{archive.Query{Max: 10, IDs: []string{all[5].ID}}, all[5:6], 1, true},
		{archive.Query{Max: 10, IDs: []string{all[7].ID, all[2].ID, all[7].ID}}, []archive.Record{all[2], all[7]}, 2, true},
		{archive.Query{Max: 10, With: coven, IDs: []string{all[3].ID, all[4].ID}}, all[3:4], 1, true},
		{archive.Query{Max: 10, AfterID: all[3].ID, IDs: []string{all[1].ID, all[5].ID}}, all[5:6], 1, true},
		{archive.Query{Max: 1, IDs: []string{all[1].ID, all[5].ID, all[8].ID}}, all[1:2], 3, false},
		{archive.Query{Max: 1, IDs: []string{all[1].ID, all[5].ID, all[8].ID}, Last: true}, all[8:9], 3, false},
		{archive.Query{Max: 10, IDs: []string{all[1].ID, all[5].ID, all[8].ID}, After: all[1].ID}, []archive.Record{all[5], all[8]}, 3, true},
	})
}

// testUnknownExtendedIDs checks that AfterID, BeforeID and IDs name records
// of the owner's archive, or the query fails with ErrNotFound.
func testUnknownExtendedIDs(t kit.T, s archive.Store) {
	appendAll(t, s, juliet, records(0, 4, coven))
	known := record(2, coven).ID
	for _, q := range []archive.Query{
		{Max: 10, AfterID: "no-such-id"},
		{Max: 10, BeforeID: "no-such-id"},
		{Max: 10, AfterID: known, BeforeID: record(5, coven).ID},
		{Max: 10, IDs: []string{"no-such-id"}},
		{Max: 10, IDs: []string{known, "no-such-id"}},
		{Max: 0, IDs: []string{"no-such-id"}},
	} {
		requireNotFound(t, s, juliet, q)
	}
	requireNotFound(t, s, romeo, archive.Query{Max: 10, IDs: []string{known}})
	requireNotFound(t, s, romeo, archive.Query{Max: 10, AfterID: known})
}

// pageSizes are the page sizes of the 1,000-record paging subtests: one
// that divides 1,000 (the last page is exactly full) and one that does not.
var pageSizes = []int{10, 7}

func testPaging1000Forward(t kit.T, s archive.Store) {
	all := records(1, bigArchive, coven)
	appendShuffled(t, s, juliet, all)
	for _, size := range pageSizes {
		var got []string
		q := archive.Query{Max: size}
		for pages := 1; ; pages++ {
			p := query(t, s, juliet, q)
			kit.Equal(t, bigArchive, p.Count, "Count of Query %s", describe(q))
			kit.LessOrEqual(t, len(p.Records), size, "Query %s returned more than Max", describe(q))
			requireBetween(t, q, p, q.After, "")
			got = append(got, ids(p.Records)...)
			if p.Complete {
				break
			}
			kit.NotEmpty(t, p.Records, "Query %s: an incomplete page must not be empty", describe(q))
			kit.Less(t, pages, bigArchive, "paging forward did not complete")
			q.After = p.Records[len(p.Records)-1].ID
		}
		kit.Equal(t, ids(all), got, "records visited paging forward by %d: each once, in ID order", size)
	}
}

func testPaging1000Backward(t kit.T, s archive.Store) {
	all := records(1, bigArchive, coven)
	appendShuffled(t, s, juliet, all)
	for _, size := range pageSizes {
		var pages [][]string
		q := archive.Query{Max: size, Last: true}
		for n := 1; ; n++ {
			p := query(t, s, juliet, q)
			kit.Equal(t, bigArchive, p.Count, "Count of Query %s", describe(q))
			kit.LessOrEqual(t, len(p.Records), size, "Query %s returned more than Max", describe(q))
			requireBetween(t, q, p, "", q.Before)
			pages = append(pages, ids(p.Records))
			if p.Complete {
				break
			}
			kit.NotEmpty(t, p.Records, "Query %s: an incomplete page must not be empty", describe(q))
			kit.Less(t, n, bigArchive, "paging backward did not complete")
			q = archive.Query{Max: size, Before: p.Records[0].ID}
		}
		slices.Reverse(pages)
		kit.Equal(t, ids(all), slices.Concat(pages...), "records visited paging backward by %d: each once, each page in ID order", size)
	}
}

// testConcurrentAppends runs appenders that append overlapping ranges of
// records (each record twice, by neighbours) while others query.
// requireBetween checks that p's records are in ascending ID order, after
// the ID after and before the ID before (when not empty).
func requireBetween(t kit.T, q archive.Query, p archive.Page, after, before string) {
	t.Helper()
	got := ids(p.Records)
	kit.True(t, slices.IsSorted(got) && len(slices.Compact(slices.Clone(got))) == len(got),
		"Query %s: records must be in ascending ID order, got %v", describe(q), got)
	if len(got) > 0 && after != "" {
		kit.Greater(t, got[0], after, "Query %s: first record", describe(q))
	}
	if len(got) > 0 && before != "" {
		kit.Less(t, got[len(got)-1], before, "Query %s: last record", describe(q))
	}
}

func testConcurrentAppends(t kit.T, s archive.Store) {
	ctx := t.Context()
	errs := make([]error, appenders)
	var wg sync.WaitGroup
	for a := range appenders {
		wg.Go(func() {
			first := a * perAppender / 2
			for i := first; i < first+perAppender; i++ {
				if err := s.Append(ctx, juliet, record(i, coven)); err != nil {
					errs[a] = fmt.Errorf("Append(%d): %w", i, err)
					return
				}
				if i%10 == 0 {
					if _, err := s.Query(ctx, juliet, archive.Query{Max: 5, Last: true}); err != nil {
						errs[a] = fmt.Errorf("Query during appends: %w", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	for a, err := range errs {
		kit.NoError(t, err, "appender %d", a)
	}
	want := records(0, (appenders+1)*perAppender/2-1, coven)
	q := archive.Query{Max: len(want) + 1}
	requirePage(t, q, query(t, s, juliet, q), want, len(want), true)
}

func testNoAliasing(t kit.T, s archive.Store) {
	r := record(1, coven)
	kit.NoError(t, s.Append(t.Context(), juliet, r), "Append(%s, %s)", juliet, r.ID)
	for i := range r.Stanza {
		r.Stanza[i] = 'x'
	}
	want := []archive.Record{record(1, coven)}
	q := archive.Query{Max: 1}
	p := query(t, s, juliet, q)
	requirePage(t, q, p, want, 1, true)
	for i := range p.Records[0].Stanza {
		p.Records[0].Stanza[i] = 'y'
	}
	p.Records[0] = archive.Record{}
	requirePage(t, q, query(t, s, juliet, q), want, 1, true)
}
