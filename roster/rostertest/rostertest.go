// Package rostertest is a conformance kit for roster.Store implementations,
// in the spirit of testing/fstest: a host that keeps MIX channel items
// (XEP-0405 §2.9) in its own roster storage runs
//
//	func TestStore(t *testing.T) {
//		rostertest.Run(t, func(t *testing.T) roster.Store { return newMyStore(t) })
//	}
//
// and gets one subtest per rule of the roster.Store contract. The kit needs
// a fresh, empty store for every subtest.
package rostertest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/internal/kit"
	"github.com/mixpam/mixpam/roster"
)

// Run tests the roster.Store returned by newStore against the contract
// documented on roster.Store, in subtests. newStore is called once per
// subtest and must return an empty store; it may register cleanups on t.
func Run(t *testing.T, newStore func(t *testing.T) roster.Store) {
	t.Helper()
	run(kit.FromTesting(t), kit.Adapt(newStore))
}

// JIDs the kit uses. Channel JIDs follow XEP-0369's examples.
var (
	juliet  = jid.MustParse("juliet@capulet.example")
	romeo   = jid.MustParse("romeo@montague.example")
	coven   = jid.MustParse("coven@mix.shakespeare.example")
	spells  = jid.MustParse("spells@mix.shakespeare.example")
	nurse   = jid.MustParse("nurse@capulet.example")
	benvol  = jid.MustParse("benvolio@montague.example")
	concurN = 8  // concurrent writers
	concurM = 25 // writes per writer
)

var tests = []kit.Test[roster.Store]{
	{Name: "NewUserIsEmpty", F: testNewUserIsEmpty},
	{Name: "PutItemRoundTrip", F: testPutItemRoundTrip},
	{Name: "PutReplaces", F: testPutReplaces},
	{Name: "ItemsOrderedByJID", F: testItemsOrderedByJID},
	{Name: "ContactKeyedByBareJID", F: testContactKeyedByBareJID},
	{Name: "UserKeyedByBareJID", F: testUserKeyedByBareJID},
	{Name: "UsersIsolated", F: testUsersIsolated},
	{Name: "VersionIncreases", F: testVersionIncreases},
	{Name: "DeleteRemoves", F: testDeleteRemoves},
	{Name: "DeleteMissing", F: testDeleteMissing},
	{Name: "ConcurrentWriters", F: testConcurrentWriters},
	{Name: "NoAliasing", F: testNoAliasing},
}

func run(t kit.T, newStore func(kit.T) roster.Store) {
	t.Helper()
	kit.RunAll(t, tests, newStore)
}

func testNewUserIsEmpty(t kit.T, s roster.Store) {
	ctx := t.Context()
	items, ver, err := s.Items(ctx, juliet)
	kit.NoError(t, err, "Items of a new user")
	kit.Empty(t, items, "Items of a new user")
	kit.Zero(t, ver, "version of a roster that was never changed")
	_, err = s.Item(ctx, juliet, coven)
	requireNotFound(t, err, "Item of a new user")
	_, err = s.Delete(ctx, juliet, coven)
	requireNotFound(t, err, "Delete of a new user's item")
	requireVersion(t, s, juliet, 0, "after a failed Delete of a new user's item")
}

func sampleItems() []roster.Item {
	return []roster.Item{
		{JID: coven, Subscription: roster.From, Channel: true, ParticipantID: "123456"},
		{JID: spells, Name: "Spells & <Charms>", Subscription: roster.None, Channel: true, ParticipantID: "Ünïcode-42", Groups: []string{"MIX"}},
		{JID: romeo, Name: "Romeo", Subscription: roster.Both, Groups: []string{"Friends", "Montagues"}},
		{JID: nurse, Subscription: roster.To, Ask: true},
		{JID: benvol, Subscription: roster.None, Ask: true, Groups: []string{"Montagues"}},
	}
}

func testPutItemRoundTrip(t kit.T, s roster.Store) {
	ctx := t.Context()
	want := sampleItems()
	for _, it := range want {
		_, err := s.Put(ctx, juliet, it)
		kit.NoError(t, err, "Put(%s)", it.JID)
	}
	for _, it := range want {
		got, err := s.Item(ctx, juliet, it.JID)
		kit.NoError(t, err, "Item(%s) after Put", it.JID)
		requireItem(t, it, got, "Item(%s) after Put", it.JID)
	}
	items, _, err := s.Items(ctx, juliet)
	kit.NoError(t, err, "Items(%s)", juliet)
	requireItems(t, sortedByJID(want), items, "Items after Put")
}

func testPutReplaces(t kit.T, s roster.Store) {
	ctx := t.Context()
	first := roster.Item{JID: coven, Name: "Coven", Subscription: roster.None, Groups: []string{"A", "B"}, Channel: true, ParticipantID: "111"}
	second := roster.Item{JID: coven, Subscription: roster.From, Channel: true, ParticipantID: "222"}
	for _, it := range []roster.Item{first, second} {
		_, err := s.Put(ctx, juliet, it)
		kit.NoError(t, err, "Put(%s, %s)", juliet, it.JID)
	}
	got, err := s.Item(ctx, juliet, coven)
	kit.NoError(t, err, "Item(%s, %s)", juliet, coven)
	requireItem(t, second, got, "Item after a second Put of the same JID must be the second item, whole")
	items, _, err := s.Items(ctx, juliet)
	kit.NoError(t, err, "Items(%s)", juliet)
	requireItems(t, []roster.Item{second}, items, "Items after two Puts of the same JID")
}

func testItemsOrderedByJID(t kit.T, s roster.Store) {
	ctx := t.Context()
	// Put in an order that is neither sorted nor reverse sorted.
	for _, local := range []string{"m", "b", "z", "a", "q", "b2", "a1"} {
		_, err := s.Put(ctx, juliet, roster.Item{JID: jid.MustParse(local + "@mix.example"), Subscription: roster.From, Channel: true})
		kit.NoError(t, err, "Put(%s, %s@mix.example)", juliet, local)
	}
	items, _, err := s.Items(ctx, juliet)
	kit.NoError(t, err, "Items(%s)", juliet)
	got := make([]string, len(items))
	for i, it := range items {
		got[i] = it.JID.String()
	}
	want := slices.Clone(got)
	slices.Sort(want)
	kit.Len(t, got, 7, "Items after 7 Puts")
	kit.Equal(t, want, got, "Items must be ordered by JID string")
}

func testContactKeyedByBareJID(t kit.T, s roster.Store) {
	ctx := t.Context()
	full := jid.MustParse("coven@mix.shakespeare.example/balcony")
	_, err := s.Put(ctx, juliet, roster.Item{JID: full, Subscription: roster.From, Channel: true, ParticipantID: "1"})
	kit.NoError(t, err, "Put(%s, %s)", juliet, full)
	got, err := s.Item(ctx, juliet, coven)
	kit.NoError(t, err, "Item(bare) after Put of an item with a full JID")
	kit.Equal(t, coven.String(), got.JID.String(), "stored item JID must be bare")
	for _, contact := range []jid.JID{full, jid.MustParse("coven@mix.shakespeare.example/never-seen")} {
		got, err = s.Item(ctx, juliet, contact)
		kit.NoError(t, err, "Item(%s): a full JID names the same item as its bare JID", contact)
		kit.Equal(t, coven.String(), got.JID.String(), "JID of the item found by Item(%s)", contact)
	}

	other := jid.MustParse("coven@mix.shakespeare.example/other")
	_, err = s.Put(ctx, juliet, roster.Item{JID: other, Subscription: roster.From, Channel: true, ParticipantID: "2"})
	kit.NoError(t, err, "Put(%s, %s)", juliet, other)
	items, _, err := s.Items(ctx, juliet)
	kit.NoError(t, err, "Items(%s)", juliet)
	requireItems(t, []roster.Item{{JID: coven, Subscription: roster.From, Channel: true, ParticipantID: "2"}}, items,
		"Puts with two full JIDs of one bare JID must keep one item")

	_, err = s.Delete(ctx, juliet, full)
	kit.NoError(t, err, "Delete with a full JID of a stored bare JID")
	_, err = s.Item(ctx, juliet, coven)
	requireNotFound(t, err, "Item after Delete")
}

func testUserKeyedByBareJID(t kit.T, s roster.Store) {
	ctx := t.Context()
	v, err := s.Put(ctx, jid.MustParse("juliet@capulet.example/balcony"), roster.Item{JID: coven, Subscription: roster.From, Channel: true})
	kit.NoError(t, err, "Put(%s, %s)", jid.MustParse("juliet@capulet.example/balcony"), coven)
	items, ver, err := s.Items(ctx, juliet)
	kit.NoError(t, err, "Items(%s)", juliet)
	kit.Len(t, items, 1, "Items(bare user) after Put(full user)")
	kit.Equal(t, v, ver, "version of the bare user after Put(full user)")
	_, err = s.Item(ctx, jid.MustParse("juliet@capulet.example/chamber"), coven)
	kit.NoError(t, err, "Item(other full JID of the user)")
}

func testUsersIsolated(t kit.T, s roster.Store) {
	ctx := t.Context()
	// Same localpart, other domain; and another user of the same domain.
	others := []jid.JID{jid.MustParse("juliet@montague.example"), nurse}
	_, err := s.Put(ctx, juliet, roster.Item{JID: coven, Subscription: roster.From, Channel: true})
	kit.NoError(t, err, "Put(%s, %s)", juliet, coven)
	vJuliet, err := s.Put(ctx, juliet, roster.Item{JID: romeo, Subscription: roster.Both})
	kit.NoError(t, err, "Put(%s, %s)", juliet, romeo)
	for _, o := range others {
		items, ver, err := s.Items(ctx, o)
		kit.NoError(t, err, "Items(%s)", o)
		kit.Empty(t, items, "Items(%s) after Puts for %s", o, juliet)
		kit.Zero(t, ver, "version of %s after Puts for %s", o, juliet)
		_, err = s.Item(ctx, o, coven)
		requireNotFound(t, err, fmt.Sprintf("Item(%s, %s) of another user's contact", o, coven))
		_, err = s.Delete(ctx, o, coven)
		requireNotFound(t, err, fmt.Sprintf("Delete(%s, %s) of another user's contact", o, coven))
	}
	_, err = s.Put(ctx, nurse, roster.Item{JID: spells, Subscription: roster.From, Channel: true})
	kit.NoError(t, err, "Put(%s, %s)", nurse, spells)
	items, ver, err := s.Items(ctx, juliet)
	kit.NoError(t, err, "Items(%s)", juliet)
	kit.Len(t, items, 2, "Items(%s) after another user's Put and Delete", juliet)
	kit.Equal(t, vJuliet, ver, "version of %s after another user's Put", juliet)
}

func testVersionIncreases(t kit.T, s roster.Store) {
	ctx := t.Context()
	var last uint64
	step := func(op string, v uint64, err error) {
		t.Helper()
		kit.NoError(t, err, "%s", op)
		kit.Greater(t, v, last, "version returned by %s must be greater than every version returned before", op)
		last = v
		requireVersion(t, s, juliet, v, "after "+op)
	}
	v, err := s.Put(ctx, juliet, roster.Item{JID: coven, Subscription: roster.From, Channel: true})
	step("Put(new item)", v, err)
	v, err = s.Put(ctx, juliet, roster.Item{JID: spells, Subscription: roster.From, Channel: true})
	step("Put(second item)", v, err)
	v, err = s.Put(ctx, juliet, roster.Item{JID: coven, Subscription: roster.None, Channel: true})
	step("Put(replacing item)", v, err)
	v, err = s.Put(ctx, juliet, roster.Item{JID: coven, Subscription: roster.None, Channel: true})
	step("Put(identical item)", v, err)
	v, err = s.Delete(ctx, juliet, coven)
	step("Delete", v, err)
	v, err = s.Delete(ctx, juliet, spells)
	step("Delete(last item)", v, err)
	v, err = s.Put(ctx, juliet, roster.Item{JID: coven, Subscription: roster.From, Channel: true})
	step("Put(after emptying)", v, err)
}

func testDeleteRemoves(t kit.T, s roster.Store) {
	ctx := t.Context()
	for _, it := range sampleItems() {
		_, err := s.Put(ctx, juliet, it)
		kit.NoError(t, err, "Put(%s, %s)", juliet, it.JID)
	}
	_, err := s.Delete(ctx, juliet, spells)
	kit.NoError(t, err, "Delete(%s, %s)", juliet, spells)
	_, err = s.Item(ctx, juliet, spells)
	requireNotFound(t, err, "Item after Delete")
	items, _, err := s.Items(ctx, juliet)
	kit.NoError(t, err, "Items(%s)", juliet)
	want := slices.DeleteFunc(sampleItems(), func(it roster.Item) bool { return it.JID.Equal(spells) })
	requireItems(t, sortedByJID(want), items, "Items after Delete")
}

func testDeleteMissing(t kit.T, s roster.Store) {
	ctx := t.Context()
	v, err := s.Put(ctx, juliet, roster.Item{JID: coven, Subscription: roster.From, Channel: true})
	kit.NoError(t, err, "Put(%s, %s)", juliet, coven)
	_, err = s.Delete(ctx, juliet, spells)
	requireNotFound(t, err, "Delete of a missing item")
	requireVersion(t, s, juliet, v, "after Delete of a missing item")
	_, err = s.Delete(ctx, juliet, coven)
	kit.NoError(t, err, "Delete(%s, %s)", juliet, coven)
	_, v, err = s.Items(ctx, juliet)
	kit.NoError(t, err, "Items(%s)", juliet)
	_, err = s.Delete(ctx, juliet, coven)
	requireNotFound(t, err, "second Delete of the same item")
	requireVersion(t, s, juliet, v, "after a second Delete of the same item")
}

// testConcurrentWriters runs concurN writers on one user, each putting
// concurM items and deleting every third one, and checks that no write is
// lost and that no two writes got the same version.
func testConcurrentWriters(t kit.T, s roster.Store) {
	ctx := t.Context()
	type result struct {
		versions []uint64
		err      error
	}
	results := make([]result, concurN)
	var wg sync.WaitGroup
	for w := range concurN {
		wg.Go(func() {
			r := &results[w]
			for i := range concurM {
				contact := writerContact(w, i)
				v, err := s.Put(ctx, juliet, roster.Item{JID: contact, Subscription: roster.From, Channel: true, ParticipantID: contact.Localpart()})
				if err != nil {
					r.err = fmt.Errorf("Put(%s): %w", contact, err)
					return
				}
				r.versions = append(r.versions, v)
				if i%3 == 0 {
					v, err = s.Delete(ctx, juliet, contact)
					if err != nil {
						r.err = fmt.Errorf("Delete(%s) of the item this writer just put (was the Put lost?): %w", contact, err)
						return
					}
					r.versions = append(r.versions, v)
				}
			}
		})
	}
	wg.Wait()

	seen := make(map[uint64]int)
	var maxVer uint64
	for w, r := range results {
		kit.NoError(t, r.err, "writer %d", w)
		for i, v := range r.versions {
			if i > 0 {
				kit.Greater(t, v, r.versions[i-1], "writer %d: version of write %d after write %d", w, i, i-1)
			}
			if prev, dup := seen[v]; dup {
				t.Fatalf("writers %d and %d both got version %d: concurrent writes must get distinct versions", prev, w, v)
			}
			seen[v] = w
			maxVer = max(maxVer, v)
		}
	}
	items, ver, err := s.Items(ctx, juliet)
	kit.NoError(t, err, "Items(%s)", juliet)
	kit.GreaterOrEqual(t, ver, maxVer, "final version must not be below a version returned to a writer")
	var want []string
	for w := range concurN {
		for i := range concurM {
			if i%3 != 0 {
				want = append(want, writerContact(w, i).String())
			}
		}
	}
	got := make([]string, len(items))
	for i, it := range items {
		got[i] = it.JID.String()
	}
	kit.ElementsMatch(t, want, got, "items after %d concurrent writers: a write was lost or a deleted item came back", concurN)
}

func writerContact(w, i int) jid.JID {
	return jid.MustParse(fmt.Sprintf("w%d-c%02d@mix.example", w, i))
}

func testNoAliasing(t kit.T, s roster.Store) {
	ctx := t.Context()
	groups := []string{"Friends", "MIX"}
	_, err := s.Put(ctx, juliet, roster.Item{JID: romeo, Subscription: roster.Both, Groups: groups})
	kit.NoError(t, err, "Put(%s, %s)", juliet, romeo)
	groups[0] = "changed after Put"

	want := roster.Item{JID: romeo, Subscription: roster.Both, Groups: []string{"Friends", "MIX"}}
	got, err := s.Item(ctx, juliet, romeo)
	kit.NoError(t, err, "Item(%s, %s)", juliet, romeo)
	requireItem(t, want, got, "stored item after the caller changed the Groups it passed to Put")

	got.Groups[0] = "changed after Item"
	items, _, err := s.Items(ctx, juliet)
	kit.NoError(t, err, "Items(%s)", juliet)
	kit.Len(t, items, 1, "Items(%s) after one Put", juliet)
	requireItem(t, want, items[0], "stored item after the caller changed the Groups returned by Item")

	items[0].Groups[1] = "changed after Items"
	items[0] = roster.Item{}
	got, err = s.Item(ctx, juliet, romeo)
	kit.NoError(t, err, "Item(%s, %s)", juliet, romeo)
	requireItem(t, want, got, "stored item after the caller changed the slice returned by Items")
}

func requireNotFound(t kit.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, roster.ErrNotFound) {
		t.Fatalf("%s: got error %v, want roster.ErrNotFound (errors.Is)", what, err)
	}
}

func requireVersion(t kit.T, s roster.Store, user jid.JID, want uint64, when string) {
	t.Helper()
	_, ver, err := s.Items(t.Context(), user)
	kit.NoError(t, err, "Items(%s) %s", user, when)
	kit.Equal(t, want, ver, "version from Items(%s) %s", user, when)
}

// requireItem checks got against want field by field. Groups are a set
// (RFC 6121 §2.1.2.2): their order is not compared, and nil equals empty.
func requireItem(t kit.T, want, got roster.Item, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	kit.Equal(t, want.JID.Bare().String(), got.JID.String(), "%s: JID", msg)
	kit.Equal(t, want.Name, got.Name, "%s: Name", msg)
	kit.Equal(t, want.Subscription, got.Subscription, "%s: Subscription", msg)
	kit.Equal(t, want.Ask, got.Ask, "%s: Ask", msg)
	kit.ElementsMatch(t, want.Groups, got.Groups, "%s: Groups", msg)
	kit.Equal(t, want.Channel, got.Channel, "%s: Channel", msg)
	kit.Equal(t, want.ParticipantID, got.ParticipantID, "%s: ParticipantID", msg)
}

func requireItems(t kit.T, want, got []roster.Item, msg string) {
	t.Helper()
	kit.Len(t, got, len(want), "%s: number of items", msg)
	for i := range want {
		requireItem(t, want[i], got[i], "%s: item %d", msg, i)
	}
}

func sortedByJID(items []roster.Item) []roster.Item {
	return slices.SortedFunc(slices.Values(items), func(a, b roster.Item) int {
		return strings.Compare(a.JID.String(), b.JID.String())
	})
}
