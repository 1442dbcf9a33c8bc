// Package blockingtest is a conformance kit for blocking.Store
// implementations, in the spirit of testing/fstest: a host that keeps
// XEP-0191 blocklists in its own storage runs
//
//	func TestStore(t *testing.T) {
//		blockingtest.Run(t, func(t *testing.T) blocking.Store { return newMyStore(t) })
//	}
//
// and gets one subtest per rule of the blocking.Store contract. The kit needs
// a fresh, empty store for every subtest.
package blockingtest

import (
	"fmt"
	"sync"
	"testing"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/internal/kit"
)

// Run tests the blocking.Store returned by newStore against the contract
// documented on blocking.Store, in subtests. newStore is called once per
// subtest and must return an empty store; it may register cleanups on t.
func Run(t *testing.T, newStore func(t *testing.T) blocking.Store) {
	t.Helper()
	run(kit.FromTesting(t), kit.Adapt(newStore))
}

// JIDs the kit uses. The encoded participant JID follows XEP-0405 §2.12.
var (
	juliet      = jid.MustParse("juliet@capulet.example")
	romeo       = jid.MustParse("romeo@montague.example")
	romeoFull   = jid.MustParse("romeo@montague.example/orchard")
	montague    = jid.MustParse("montague.example")
	coven       = jid.MustParse("coven@mix.shakespeare.example")
	participant = jid.MustParse("123435#coven@mix.shakespeare.example")
	mixService  = jid.MustParse("mix.shakespeare.example")
)

// Sizes of the concurrency subtest.
const (
	blockers   = 8
	perBlocker = 25
)

var tests = []kit.Test[blocking.Store]{
	{Name: "EmptyBlocklist", F: testEmptyBlocklist},
	{Name: "ContainsExactMatch", F: testContainsExactMatch},
	{Name: "BlockReturnsAdded", F: testBlockReturnsAdded},
	{Name: "ItemsInOrderAdded", F: testItemsInOrderAdded},
	{Name: "UnblockSome", F: testUnblockSome},
	{Name: "UnblockAll", F: testUnblockAll},
	{Name: "UsersIsolated", F: testUsersIsolated},
	{Name: "ConcurrentBlock", F: testConcurrentBlock},
	{Name: "NoAliasing", F: testNoAliasing},
}

func run(t kit.T, newStore func(kit.T) blocking.Store) {
	t.Helper()
	kit.RunAll(t, tests, newStore)
}

func strs(js []jid.JID) []string {
	out := make([]string, len(js))
	for i, j := range js {
		out[i] = j.String()
	}
	return out
}

func requireItems(t kit.T, s blocking.Store, user jid.JID, want []jid.JID, when string) {
	t.Helper()
	got, err := s.Items(t.Context(), user)
	kit.NoError(t, err, "Items(%s) %s", user, when)
	kit.Equal(t, strs(want), strs(got), "Items(%s) %s, in the order added", user, when)
}

func requireContains(t kit.T, s blocking.Store, user, item jid.JID, want bool, when string) {
	t.Helper()
	got, err := s.Contains(t.Context(), user, item)
	kit.NoError(t, err, "Contains(%s, %s) %s", user, item, when)
	kit.Equal(t, want, got, "Contains(%s, %s) %s", user, item, when)
}

func block(t kit.T, s blocking.Store, user jid.JID, items ...jid.JID) []jid.JID {
	t.Helper()
	added, err := s.Block(t.Context(), user, items...)
	kit.NoError(t, err, "Block(%s, %v)", user, items)
	return added
}

func unblock(t kit.T, s blocking.Store, user jid.JID, items ...jid.JID) []jid.JID {
	t.Helper()
	removed, err := s.Unblock(t.Context(), user, items...)
	kit.NoError(t, err, "Unblock(%s, %v)", user, items)
	return removed
}

func testEmptyBlocklist(t kit.T, s blocking.Store) {
	requireItems(t, s, juliet, nil, "of a new user")
	requireContains(t, s, juliet, romeo, false, "of a new user")
	kit.Empty(t, unblock(t, s, juliet, romeo), "Unblock of an item of a new user")
	kit.Empty(t, unblock(t, s, juliet), "Unblock all of a new user")
	requireItems(t, s, juliet, nil, "after Unblock of a new user")
}

func testContainsExactMatch(t kit.T, s blocking.Store) {
	block(t, s, juliet, romeo, montague, participant)
	for _, tc := range []struct {
		item jid.JID
		want bool
	}{
		{romeo, true},
		{montague, true},
		{participant, true},
		// A full JID is not its bare JID, a bare JID not its domain, and
		// an encoded participant JID not its channel: matching sender
		// forms is the Filter's job.
		{romeoFull, false},
		{jid.MustParse("benvolio@montague.example"), false},
		{coven, false},
		{mixService, false},
		{jid.MustParse("123435#coven@mix.shakespeare.example/res"), false},
		{jid.MustParse("123436#coven@mix.shakespeare.example"), false},
		{jid.MustParse("romeo@capulet.example"), false},
	} {
		requireContains(t, s, juliet, tc.item, tc.want, "after Block of "+romeo.String()+", "+montague.String()+", "+participant.String())
	}
	block(t, s, juliet, romeoFull)
	requireContains(t, s, juliet, romeoFull, true, "after Block of the full JID")
}

func testBlockReturnsAdded(t kit.T, s blocking.Store) {
	kit.Equal(t, strs([]jid.JID{romeo, coven}), strs(block(t, s, juliet, romeo, coven)), "Block of new items returns them all")
	kit.Empty(t, block(t, s, juliet, romeo), "Block of an item already blocked returns nothing")
	kit.Equal(t, strs([]jid.JID{participant, montague}), strs(block(t, s, juliet, coven, participant, romeo, montague)),
		"Block of a mix of blocked and new items returns only the new ones, in order")
	kit.Equal(t, strs([]jid.JID{romeoFull}), strs(block(t, s, juliet, romeoFull, romeoFull)),
		"Block of the same new item twice in one call returns it once")
	requireItems(t, s, juliet, []jid.JID{romeo, coven, participant, montague, romeoFull}, "after Blocks with repeated items")
	kit.Empty(t, block(t, s, juliet), "Block of no items")
}

func testItemsInOrderAdded(t kit.T, s blocking.Store) {
	want := []jid.JID{participant, romeo, montague, coven, romeoFull}
	for _, j := range want {
		block(t, s, juliet, j)
	}
	requireItems(t, s, juliet, want, "after one Block per item")
	unblock(t, s, juliet, montague)
	block(t, s, juliet, montague)
	requireItems(t, s, juliet, []jid.JID{participant, romeo, coven, romeoFull, montague}, "after unblocking and blocking again")
}

func testUnblockSome(t kit.T, s blocking.Store) {
	block(t, s, juliet, romeo, montague, participant, coven)
	removed := unblock(t, s, juliet, montague, mixService, coven)
	kit.Equal(t, strs([]jid.JID{montague, coven}), strs(removed), "Unblock returns only the items that were blocked")
	requireItems(t, s, juliet, []jid.JID{romeo, participant}, "after Unblock")
	requireContains(t, s, juliet, montague, false, "after Unblock")
	requireContains(t, s, juliet, coven, false, "after Unblock")
	requireContains(t, s, juliet, participant, true, "after Unblock of its channel")
	kit.Empty(t, unblock(t, s, juliet, montague), "Unblock of an item no longer blocked")
}

func testUnblockAll(t kit.T, s blocking.Store) {
	held := []jid.JID{romeo, montague, participant}
	block(t, s, juliet, held...)
	block(t, s, romeo, coven)
	kit.ElementsMatch(t, strs(held), strs(unblock(t, s, juliet)), "Unblock with no items returns what the blocklist held")
	requireItems(t, s, juliet, nil, "after Unblock all")
	for _, j := range held {
		requireContains(t, s, juliet, j, false, "after Unblock all")
	}
	requireItems(t, s, romeo, []jid.JID{coven}, "after another user's Unblock all")
	kit.Equal(t, strs([]jid.JID{romeo}), strs(block(t, s, juliet, romeo)), "Block after Unblock all")
}

func testUsersIsolated(t kit.T, s blocking.Store) {
	block(t, s, juliet, romeo, participant)
	others := []jid.JID{jid.MustParse("juliet@montague.example"), jid.MustParse("nurse@capulet.example")}
	for _, o := range others {
		requireItems(t, s, o, nil, "after another user's Block")
		requireContains(t, s, o, romeo, false, "after another user's Block")
		kit.Empty(t, unblock(t, s, o, romeo), "Unblock(%s) of another user's item", o)
	}
	kit.Equal(t, strs([]jid.JID{romeo}), strs(block(t, s, others[0], romeo)), "Block by another user of an item the first user blocked")
	unblock(t, s, others[0])
	requireItems(t, s, juliet, []jid.JID{romeo, participant}, "after another user's Block and Unblock all")
}

// testConcurrentBlock runs blockers that each block their own items and all
// try to block the same shared items, while Contains runs: every own item
// must be there, and each shared item must be reported added exactly once.
func testConcurrentBlock(t kit.T, s blocking.Store) {
	ctx := t.Context()
	shared := []jid.JID{romeo, coven, montague}
	type result struct {
		added []string
		err   error
	}
	results := make([]result, blockers)
	var wg sync.WaitGroup
	for b := range blockers {
		wg.Go(func() {
			r := &results[b]
			for i := range perBlocker {
				own := jid.MustParse(fmt.Sprintf("%d#b%d@mix.example", i, b))
				added, err := s.Block(ctx, juliet, own, shared[i%len(shared)])
				if err != nil {
					r.err = fmt.Errorf("Block: %w", err)
					return
				}
				r.added = append(r.added, strs(added)...)
				if ok, err := s.Contains(ctx, juliet, own); err != nil || !ok {
					r.err = fmt.Errorf("Contains(%s) right after its Block = %v, %v", own, ok, err)
					return
				}
			}
		})
	}
	wg.Wait()
	var added, want []string
	for b, r := range results {
		kit.NoError(t, r.err, "blocker %d", b)
		added = append(added, r.added...)
		for i := range perBlocker {
			want = append(want, fmt.Sprintf("%d#b%d@mix.example", i, b))
		}
	}
	want = append(want, strs(shared)...)
	kit.ElementsMatch(t, want, added, "items reported added by %d concurrent Blocks: each exactly once", blockers)
	got, err := s.Items(ctx, juliet)
	kit.NoError(t, err, "Items(%s)", juliet)
	kit.ElementsMatch(t, want, strs(got), "Items after %d concurrent Blocks: a Block was lost or doubled", blockers)
}

func testNoAliasing(t kit.T, s blocking.Store) {
	items := []jid.JID{romeo, coven}
	added := block(t, s, juliet, items...)
	items[0] = montague
	if len(added) > 0 {
		added[0] = montague
	}
	got, err := s.Items(t.Context(), juliet)
	kit.NoError(t, err, "Items(%s)", juliet)
	kit.Equal(t, strs([]jid.JID{romeo, coven}), strs(got), "Items after the caller changed the slices passed to and returned by Block")
	got[0] = montague
	requireItems(t, s, juliet, []jid.JID{romeo, coven}, "after the caller changed the slice returned by Items")
}
