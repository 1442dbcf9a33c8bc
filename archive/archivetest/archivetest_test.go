package archivetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/internal/kit"
)

func TestMemStore(t *testing.T) {
	Run(t, func(_ *testing.T, r archive.Retention) archive.Store {
		return archive.NewMemStore(archive.WithRetention(r))
	})
}

// TestKitFailsOnBrokenStores runs the kit against deliberately broken stores
// and checks that the subtests covering each defect fail.
func TestKitFailsOnBrokenStores(t *testing.T) {
	tests := []struct {
		name     string
		newStore func() archive.Store
		failing  []string
	}{
		{"duplicate append kept", func() archive.Store { return newDupStore(false) }, []string{"AppendIdempotent", "ConcurrentAppends"}},
		{"duplicate append overwrites", func() archive.Store { return newDupStore(true) }, []string{"AppendIdempotent"}},
		{"backward page in reverse order", func() archive.Store { return reversedBackwardStore{archive.NewMemStore()} }, []string{"BackwardPaging", "Paging1000Backward"}},
		{"backward page takes the first Max", func() archive.Store { return firstMaxBackwardStore{archive.NewMemStore()} }, []string{"BackwardPaging", "Paging1000Backward", "CompleteOnExactBoundary"}},
		{"Complete when the page is short", func() archive.Store { return shortPageCompleteStore{archive.NewMemStore()} }, []string{"CompleteOnExactBoundary", "ForwardPaging"}},
		{"unknown After or Before is an empty page", func() archive.Store { return lenientStore{archive.NewMemStore()} }, []string{"UnknownAfterBefore", "OwnersIsolated"}},
		{"retention ignored", func() archive.Store { return archive.NewMemStore() }, []string{"RetentionMaxRecords", "RetentionDropsOldestByID", "RetentionPerOwner", "RetentionFilteredCount", "RetentionMaxAge", "RetentionAgeThenCount", "RetentionConcurrentAppends"}},
		{"id outside the selection is unknown", func() archive.Store { return selectionOnlyStore{archive.NewMemStore()} }, []string{"PagingOutsideSelection"}},
		{"AfterID, BeforeID and IDs ignored", func() archive.Store { return noExtendedStore{archive.NewMemStore()} }, []string{"FilterAfterBeforeID", "FilterIDs", "UnknownExtendedIDs"}},
		{"AfterID and BeforeID as RSM After and Before", func() archive.Store { return idsAsRSMStore{archive.NewMemStore()} }, []string{"FilterAfterBeforeID"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			failures := kit.Record(func(t kit.T) {
				run(t, func(kit.T) storeWith { return func(archive.Retention) archive.Store { return tc.newStore() } })
			})
			for _, f := range failures {
				t.Logf("%s: %s", f.Test, f.Message)
			}
			require.Subset(t, kit.FailedTests(failures), tc.failing, "the kit must catch: %s", tc.name)
		})
	}
}

// dupStore does not honour Append's idempotency: a record appended again
// shows up twice in query results (overwrite false) or replaces the first
// (overwrite true).
type dupStore struct {
	*archive.MemStore
	overwrite bool

	mu    sync.Mutex
	dups  map[string][]archive.Record // owner + " " + ID → later appends
	known map[string]bool
}

func newDupStore(overwrite bool) *dupStore {
	return &dupStore{MemStore: archive.NewMemStore(), overwrite: overwrite, dups: make(map[string][]archive.Record), known: make(map[string]bool)}
}

func (s *dupStore) Append(ctx context.Context, owner jid.JID, rec archive.Record) error {
	k := owner.Bare().String() + " " + rec.ID
	s.mu.Lock()
	if s.known[k] {
		rec.Stanza = slices.Clone(rec.Stanza)
		s.dups[k] = append(s.dups[k], rec)
	}
	s.known[k] = true
	s.mu.Unlock()
	return s.MemStore.Append(ctx, owner, rec)
}

func (s *dupStore) Query(ctx context.Context, owner jid.JID, q archive.Query) (archive.Page, error) {
	p, err := s.MemStore.Query(ctx, owner, q)
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []archive.Record
	for _, r := range p.Records {
		dups := s.dups[owner.Bare().String()+" "+r.ID]
		switch {
		case len(dups) == 0:
			out = append(out, r)
		case s.overwrite:
			out = append(out, dups[len(dups)-1])
		default:
			out = append(append(out, r), dups...)
		}
	}
	p.Records = out
	return p, err
}

func backward(q archive.Query) bool { return q.Before != "" || q.Last }

// reversedBackwardStore returns backward pages newest first.
type reversedBackwardStore struct{ *archive.MemStore }

func (s reversedBackwardStore) Query(ctx context.Context, owner jid.JID, q archive.Query) (archive.Page, error) {
	p, err := s.MemStore.Query(ctx, owner, q)
	if backward(q) {
		slices.Reverse(p.Records)
	}
	return p, err
}

// firstMaxBackwardStore pages backward by taking the first Max records
// before Before instead of the last Max.
type firstMaxBackwardStore struct{ *archive.MemStore }

func (s firstMaxBackwardStore) Query(ctx context.Context, owner jid.JID, q archive.Query) (archive.Page, error) {
	if !backward(q) {
		return s.MemStore.Query(ctx, owner, q)
	}
	size := q.Max
	q.Max = 1 << 30
	p, err := s.MemStore.Query(ctx, owner, q)
	p.Records = p.Records[:min(size, len(p.Records))]
	return p, err
}

// shortPageCompleteStore reports a page complete only when it is shorter
// than Max, the classic off-by-one at an exact boundary.
type shortPageCompleteStore struct{ *archive.MemStore }

func (s shortPageCompleteStore) Query(ctx context.Context, owner jid.JID, q archive.Query) (archive.Page, error) {
	p, err := s.MemStore.Query(ctx, owner, q)
	p.Complete = len(p.Records) < q.Max
	return p, err
}

// lenientStore answers an unknown After or Before with an empty page.
type lenientStore struct{ *archive.MemStore }

func (s lenientStore) Query(ctx context.Context, owner jid.JID, q archive.Query) (archive.Page, error) {
	p, err := s.MemStore.Query(ctx, owner, q)
	if errors.Is(err, archive.ErrNotFound) {
		return archive.Page{Complete: true}, nil
	}
	return p, err
}

// selectionOnlyStore knows After and Before IDs only within the selection,
// as if With, Start and End filtered the archive before paging.
type selectionOnlyStore struct{ *archive.MemStore }

func (s selectionOnlyStore) Query(ctx context.Context, owner jid.JID, q archive.Query) (archive.Page, error) {
	all, err := s.MemStore.Query(ctx, owner, archive.Query{With: q.With, Start: q.Start, End: q.End, Max: 1 << 30})
	if err != nil {
		return archive.Page{}, err
	}
	for _, id := range []string{q.After, q.Before} {
		if id != "" && !slices.ContainsFunc(all.Records, func(r archive.Record) bool { return r.ID == id }) {
			return archive.Page{}, archive.ErrNotFound
		}
	}
	return s.MemStore.Query(ctx, owner, q)
}

// noExtendedStore predates urn:xmpp:mam:2#extended: it ignores AfterID,
// BeforeID and IDs.
type noExtendedStore struct{ *archive.MemStore }

func (s noExtendedStore) Query(ctx context.Context, owner jid.JID, q archive.Query) (archive.Page, error) {
	q.AfterID, q.BeforeID, q.IDs = "", "", nil
	return s.MemStore.Query(ctx, owner, q)
}

// idsAsRSMStore takes AfterID and BeforeID for RSM After and Before, which
// page instead of bounding the selection: Count and the direction go wrong.
type idsAsRSMStore struct{ *archive.MemStore }

func (s idsAsRSMStore) Query(ctx context.Context, owner jid.JID, q archive.Query) (archive.Page, error) {
	if q.After == "" && q.AfterID != "" {
		q.After = q.AfterID
	}
	if q.Before == "" && q.BeforeID != "" {
		q.Before = q.BeforeID
	}
	q.AfterID, q.BeforeID = "", ""
	return s.MemStore.Query(ctx, owner, q)
}
