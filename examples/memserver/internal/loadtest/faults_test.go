package loadtest

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/roster"
)

// errInjected is the failure a faults injector makes a store call return.
var errInjected = errors.New("loadtest: injected store failure")

// faults makes the store calls passed through it fail or stall at random
// while it is on, as a database that drops connections, slows down and
// hangs does. Which call suffers what is drawn from a seeded source (the
// seed is logged by the test), so a run's mix of faults is reproducible
// up to the order in which concurrent calls draw.
//
// Of the calls made while on:
//   - fail return errInjected without touching the store;
//   - stall wait up to stall, then go through (or return the context's
//     error if it ends first, as a store that honours its context does);
//   - hang wait until the caller's context ends (past the server's request
//     timeout) or the faults heal, then return an error;
//   - lose are carried out, and then errInjected is returned, as when a
//     commit succeeds and its acknowledgement is lost.
type faults struct {
	fail, stall, hang, lose float64       // probabilities per call
	maxStall                time.Duration // longest stall

	on     atomic.Bool
	mu     sync.Mutex
	rng    *rand.Rand
	healed chan struct{} // closed by heal: hanging calls return

	failed, stalled, hung, lost atomic.Int64
}

// newFaults returns an injector, off, drawing from seed.
func newFaults(seed uint64, maxStall time.Duration) *faults {
	return &faults{
		fail: 0.15, stall: 0.10, hang: 0.04, lose: 0.05,
		maxStall: maxStall,
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		healed:   make(chan struct{}),
	}
}

// start switches the faults on.
func (f *faults) start() { f.on.Store(true) }

// heal switches the faults off for good and releases hanging calls.
func (f *faults) heal() {
	if f.on.Swap(false) {
		close(f.healed)
	}
}

// draw picks what happens to one call: a number in [0, 1) and, for a
// stall, its length.
func (f *faults) draw() (float64, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rng.Float64(), time.Duration(f.rng.Int64N(int64(f.maxStall)))
}

// do runs call, the store call, through the injector. For a read, a lost
// answer is a plain failure.
func (f *faults) do(ctx context.Context, call func() error) error {
	if !f.on.Load() {
		return call()
	}
	p, d := f.draw()
	switch {
	case p < f.fail:
		f.failed.Add(1)
		return errInjected
	case p < f.fail+f.stall:
		f.stalled.Add(1)
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	case p < f.fail+f.stall+f.hang:
		f.hung.Add(1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-f.healed:
			return errInjected
		}
	case p < f.fail+f.stall+f.hang+f.lose:
		f.lost.Add(1)
		return errors.Join(call(), errInjected)
	}
	return call()
}

// faultyRosters is a roster.Store whose calls go through faults.
type faultyRosters struct {
	store roster.Store
	f     *faults
}

func (s faultyRosters) Items(ctx context.Context, user jid.JID) (items []roster.Item, ver uint64, err error) {
	err = s.f.do(ctx, func() error {
		items, ver, err = s.store.Items(ctx, user)
		return err
	})
	return items, ver, err
}

func (s faultyRosters) Item(ctx context.Context, user, contact jid.JID) (it roster.Item, err error) {
	err = s.f.do(ctx, func() error {
		it, err = s.store.Item(ctx, user, contact)
		return err
	})
	return it, err
}

func (s faultyRosters) Put(ctx context.Context, user jid.JID, item roster.Item) (ver uint64, err error) {
	err = s.f.do(ctx, func() error {
		ver, err = s.store.Put(ctx, user, item)
		return err
	})
	return ver, err
}

func (s faultyRosters) Delete(ctx context.Context, user, contact jid.JID) (ver uint64, err error) {
	err = s.f.do(ctx, func() error {
		ver, err = s.store.Delete(ctx, user, contact)
		return err
	})
	return ver, err
}

// faultyArchive is an archive.Store whose calls go through faults.
type faultyArchive struct {
	store archive.Store
	f     *faults
}

func (s faultyArchive) Append(ctx context.Context, owner jid.JID, rec archive.Record) error {
	return s.f.do(ctx, func() error { return s.store.Append(ctx, owner, rec) })
}

func (s faultyArchive) Query(ctx context.Context, owner jid.JID, q archive.Query) (page archive.Page, err error) {
	err = s.f.do(ctx, func() error {
		page, err = s.store.Query(ctx, owner, q)
		return err
	})
	return page, err
}
