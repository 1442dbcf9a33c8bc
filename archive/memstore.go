package archive

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"mellium.im/xmpp/jid"
)

// MemStore is an in-memory Store, safe for concurrent use. The zero value is
// not usable: call NewMemStore.
type MemStore struct {
	retention Retention
	now       func() time.Time

	mu     sync.RWMutex
	owners map[string][]Record // bare JID → records sorted by ID
}

// MemStoreOption configures a MemStore.
type MemStoreOption func(*MemStore)

// WithRetention makes the store honour r (see Retention) on every Append.
// Negative limits count as no limit.
func WithRetention(r Retention) MemStoreOption {
	return func(s *MemStore) { s.retention = Retention{MaxRecords: max(r.MaxRecords, 0), MaxAge: max(r.MaxAge, 0)} }
}

// NewMemStore returns an empty store.
func NewMemStore(opts ...MemStoreOption) *MemStore {
	s := &MemStore{owners: make(map[string][]Record), now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

func compareID(a Record, id string) int { return strings.Compare(a.ID, id) }

// Append implements Store.
func (s *MemStore) Append(_ context.Context, owner jid.JID, rec Record) error {
	rec.With = rec.With.Bare()
	rec.Stanza = slices.Clone(rec.Stanza)
	s.mu.Lock()
	defer s.mu.Unlock()
	key := owner.Bare().String()
	recs := s.owners[key]
	i, found := slices.BinarySearchFunc(recs, rec.ID, compareID)
	if found {
		return nil
	}
	s.owners[key] = s.retain(slices.Insert(recs, i, rec))
	return nil
}

// retain applies the store's Retention to recs, sorted by ID, and returns
// what it keeps: first the records past MaxAge go, then the oldest beyond
// MaxRecords. Records beyond MaxRecords are dropped by reslicing (the array
// is not shifted on every Append at the cap); their stanzas are released at
// once and the array's head when append next grows it.
func (s *MemStore) retain(recs []Record) []Record {
	if cutoff := s.retention.Cutoff(s.now()); !cutoff.IsZero() && slices.ContainsFunc(recs, func(r Record) bool { return r.Time.Before(cutoff) }) {
		recs = slices.DeleteFunc(recs, func(r Record) bool { return r.Time.Before(cutoff) })
	}
	if n := s.retention.MaxRecords; n > 0 && len(recs) > n {
		drop := len(recs) - n
		clear(recs[:drop])
		recs = recs[drop:]
	}
	return recs
}

// Query implements Store.
func (s *MemStore) Query(_ context.Context, owner jid.JID, q Query) (Page, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	with := ""
	if q.With.String() != "" {
		with = q.With.Bare().String()
	}
	recs := s.owners[owner.Bare().String()]
	for _, id := range []string{q.After, q.Before, q.AfterID, q.BeforeID} {
		if _, found := slices.BinarySearchFunc(recs, id, compareID); id != "" && !found {
			return Page{}, ErrNotFound
		}
	}
	sel, err := selectRecords(recs, q, with)
	if err != nil {
		return Page{}, err
	}
	page := Page{Count: len(sel)}
	max := max(q.Max, 0)
	switch {
	case q.Before != "" || q.Last:
		end := len(sel)
		if q.Before != "" {
			// The first record of the selection not before q.Before: the
			// record itself may lie outside the selection.
			end, _ = slices.BinarySearchFunc(sel, q.Before, compareID)
		}
		start := max0(end - max)
		page.Records = cloneRecords(sel[start:end])
		page.Complete = start == 0
	default:
		start := 0
		if q.After != "" {
			i, found := slices.BinarySearchFunc(sel, q.After, compareID)
			if found {
				i++
			}
			start = i
		}
		end := min(start+max, len(sel))
		page.Records = cloneRecords(sel[start:end])
		page.Complete = end == len(sel)
	}
	return page, nil
}

// selectRecords returns the records of recs (sorted by ID) that q selects,
// sorted by ID, before paging. Without a with, start, end or ids filter the
// selection is a subslice of recs found by binary search, so the newest page
// and a page after an id cost O(log n + Max) whatever the archive's size;
// a filter costs one pass over the records in the id range. The result may
// share recs' array: callers copy what they return.
func selectRecords(recs []Record, q Query, with string) ([]Record, error) {
	if len(q.IDs) > 0 {
		picked, err := pick(recs, q.IDs)
		if err != nil {
			return nil, err
		}
		recs = picked
	}
	lo, hi := 0, len(recs)
	if q.AfterID != "" {
		i, found := slices.BinarySearchFunc(recs, q.AfterID, compareID)
		if found {
			i++
		}
		lo = i
	}
	if q.BeforeID != "" {
		hi, _ = slices.BinarySearchFunc(recs, q.BeforeID, compareID)
	}
	if lo >= hi {
		return nil, nil
	}
	recs = recs[lo:hi]
	if with == "" && q.Start.IsZero() && q.End.IsZero() {
		return recs, nil
	}
	var sel []Record
	for _, r := range recs {
		if with != "" && r.With.String() != with {
			continue
		}
		if !q.Start.IsZero() && r.Time.Before(q.Start) {
			continue
		}
		if !q.End.IsZero() && r.Time.After(q.End) {
			continue
		}
		sel = append(sel, r)
	}
	return sel, nil
}

// pick returns the records of recs (sorted by ID) with the given ids, sorted
// by ID and each once, or ErrNotFound if one of the ids is not in recs.
func pick(recs []Record, ids []string) ([]Record, error) {
	idx := make([]int, 0, len(ids))
	for _, id := range ids {
		i, found := slices.BinarySearchFunc(recs, id, compareID)
		if !found {
			return nil, ErrNotFound
		}
		idx = append(idx, i)
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	out := make([]Record, len(idx))
	for k, i := range idx {
		out[k] = recs[i]
	}
	return out, nil
}

func max0(n int) int { return max(n, 0) }

func cloneRecords(recs []Record) []Record {
	out := make([]Record, len(recs))
	for i, r := range recs {
		r.Stanza = slices.Clone(r.Stanza)
		out[i] = r
	}
	return out
}
