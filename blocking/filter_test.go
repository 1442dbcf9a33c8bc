package blocking_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/blocklist"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/blocking"
)

var juliet = jid.MustParse("juliet@capulet.lit")

type filterCase struct {
	name      string
	items     []string // the user's blocklist
	peer      string
	groupchat bool
	realJID   string
	matchReal bool // build the filter with MatchRealJID
	blocked   bool
}

var filterCases = []filterCase{
	// The channel's bare JID blocks all its traffic.
	{name: "channel blocks encoded full JID", items: []string{"coven@mix.example"}, peer: "123#coven@mix.example/res", blocked: true},
	{name: "channel blocks encoded bare JID", items: []string{"coven@mix.example"}, peer: "123#coven@mix.example", blocked: true},
	{name: "channel blocks its groupchat", items: []string{"coven@mix.example"}, peer: "coven@mix.example/123", groupchat: true, blocked: true},
	{name: "channel blocks itself", items: []string{"coven@mix.example"}, peer: "coven@mix.example", blocked: true},
	{name: "channel blocks outgoing to the channel", items: []string{"coven@mix.example"}, peer: "coven@mix.example", groupchat: true, blocked: true},
	{name: "other channel does not block encoded JID", items: []string{"other@mix.example"}, peer: "123#coven@mix.example/res"},
	{name: "other channel does not block groupchat", items: []string{"other@mix.example"}, peer: "coven@mix.example/123", groupchat: true},
	{name: "channel at another service does not block", items: []string{"coven@mix.other"}, peer: "123#coven@mix.example/res"},

	// The channel's domain blocks the whole service.
	{name: "domain blocks encoded JID", items: []string{"mix.example"}, peer: "123#coven@mix.example/res", blocked: true},
	{name: "domain blocks groupchat", items: []string{"mix.example"}, peer: "coven@mix.example/123", groupchat: true, blocked: true},
	{name: "other domain does not block", items: []string{"mix.other"}, peer: "123#coven@mix.example/res"},
	{name: "domain/resource item blocks that resource", items: []string{"mix.example/123"}, peer: "coven@mix.example/123", groupchat: true, blocked: true},

	// The exact encoded JID blocks one participant.
	{name: "participant blocks its presence", items: []string{"123#coven@mix.example"}, peer: "123#coven@mix.example/res", blocked: true},
	{name: "participant blocks its private message", items: []string{"123#coven@mix.example"}, peer: "123#coven@mix.example", blocked: true},
	{name: "participant does not block another participant", items: []string{"123#coven@mix.example"}, peer: "456#coven@mix.example/res"},
	{name: "participant does not block the channel", items: []string{"123#coven@mix.example"}, peer: "coven@mix.example"},
	{name: "participant does not block the channel's groupchat", items: []string{"123#coven@mix.example"}, peer: "coven@mix.example", groupchat: true},

	// Groupchat from channel@service/pid is the participant's.
	{name: "participant blocks its groupchat", items: []string{"123#coven@mix.example"}, peer: "coven@mix.example/123", groupchat: true, blocked: true},
	{name: "participant does not block another's groupchat", items: []string{"123#coven@mix.example"}, peer: "coven@mix.example/456", groupchat: true},
	{name: "participant mapping is for groupchat only", items: []string{"123#coven@mix.example"}, peer: "coven@mix.example/123"},

	// Full-JID items block one resource.
	{name: "full JID blocks that resource", items: []string{"123#coven@mix.example/res1"}, peer: "123#coven@mix.example/res1", blocked: true},
	{name: "full JID does not block another resource", items: []string{"123#coven@mix.example/res1"}, peer: "123#coven@mix.example/res2"},
	{name: "full JID does not block the participant", items: []string{"123#coven@mix.example/res1"}, peer: "123#coven@mix.example"},
	{name: "channel full JID blocks that groupchat sender", items: []string{"coven@mix.example/123"}, peer: "coven@mix.example/123", groupchat: true, blocked: true},
	{name: "channel full JID does not block other senders", items: []string{"coven@mix.example/123"}, peer: "coven@mix.example/456", groupchat: true},
	{name: "channel full JID does not block encoded JIDs", items: []string{"coven@mix.example/123"}, peer: "123#coven@mix.example/123"},

	// Invalid participant ids are no encoded JIDs.
	{name: "empty participant id is not encoded", items: []string{"coven@mix.example"}, peer: "#coven@mix.example/res"},
	{name: "empty channel name is not encoded", items: []string{"mix.example/x", "coven@mix.example"}, peer: "coven#@mix.example/res"},
	{name: "groupchat pid with # maps to no participant", items: []string{"a#coven@mix.example", "b#coven@mix.example"}, peer: "coven@mix.example/a#b", groupchat: true},
	{name: "groupchat pid with @ maps to no participant", items: []string{"a#coven@mix.example"}, peer: "coven@mix.example/a@b", groupchat: true},
	{name: "groupchat pid with / maps to no participant", items: []string{"a#coven@mix.example"}, peer: "coven@mix.example/a/b", groupchat: true},
	{name: "channel still blocks invalid pid groupchat", items: []string{"coven@mix.example"}, peer: "coven@mix.example/a#b", groupchat: true, blocked: true},
	{name: "participant ids split at the first #", items: []string{"b#coven@mix.example"}, peer: "a#b#coven@mix.example/res", blocked: true},

	// Localparts are case-folded (items and peers are parsed JIDs).
	{name: "case-folded channel", items: []string{"Coven@MIX.Example"}, peer: "123#COVEN@mix.example/res", blocked: true},
	{name: "case-folded participant", items: []string{"ABC#coven@mix.example"}, peer: "abc#Coven@mix.example/res", blocked: true},
	{name: "case-folded groupchat participant", items: []string{"abc#coven@mix.example"}, peer: "coven@mix.example/ABC", groupchat: true, blocked: true},
	{name: "resources are not case-folded", items: []string{"coven@mix.example/ABC"}, peer: "coven@mix.example/abc", groupchat: true},

	// The participant's real JID.
	{name: "real JID ignored by default", items: []string{"romeo@montague.net"}, peer: "coven@mix.example/123", groupchat: true, realJID: "romeo@montague.net"},
	{name: "real JID blocks groupchat with option", items: []string{"romeo@montague.net"}, peer: "coven@mix.example/123", groupchat: true, realJID: "romeo@montague.net", matchReal: true, blocked: true},
	{name: "real JID domain blocks groupchat with option", items: []string{"montague.net"}, peer: "coven@mix.example/123", groupchat: true, realJID: "romeo@montague.net/orchard", matchReal: true, blocked: true},
	{name: "real JID does not block the channel", items: []string{"romeo@montague.net"}, peer: "coven@mix.example", groupchat: true, matchReal: true},
	{name: "real JID does not block other senders", items: []string{"romeo@montague.net"}, peer: "coven@mix.example/456", groupchat: true, realJID: "benvolio@montague.net", matchReal: true},
	{name: "own real JID is never blocked", items: []string{"capulet.lit"}, peer: "coven@mix.example/123", groupchat: true, realJID: "juliet@capulet.lit", matchReal: true},

	// Plain XEP-0191.
	{name: "contact bare JID blocks its resources", items: []string{"romeo@montague.net"}, peer: "romeo@montague.net/orchard", blocked: true},
	{name: "empty blocklist blocks nothing", peer: "123#coven@mix.example/res", groupchat: true},
	{name: "own resources are never blocked", items: []string{"capulet.lit", "juliet@capulet.lit"}, peer: "juliet@capulet.lit/balcony"},
	{name: "zero peer is never blocked", items: []string{"mix.example"}, peer: ""},
}

func mustJID(t testing.TB, s string) jid.JID {
	t.Helper()
	if s == "" {
		return jid.JID{}
	}
	j, err := jid.Parse(s)
	require.NoError(t, err, s)
	return j
}

func (c filterCase) peerOf(t testing.TB) blocking.Peer {
	return blocking.Peer{JID: mustJID(t, c.peer), Groupchat: c.groupchat, RealJID: mustJID(t, c.realJID)}
}

func (c filterCase) config(check blocking.Checker) blocking.FilterConfig {
	return blocking.FilterConfig{Checker: check, MatchRealJID: c.matchReal}
}

// newFilter builds a Filter for c, failing tb if NewFilter refuses.
func newFilter(tb testing.TB, c blocking.FilterConfig) *blocking.Filter {
	tb.Helper()
	f, err := blocking.NewFilter(c)
	require.NoError(tb, err)
	return f
}

func TestFilterOverStore(t *testing.T) {
	require.GreaterOrEqual(t, len(filterCases), 20)
	for _, c := range filterCases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			store := blocking.NewMemStore()
			for _, it := range c.items {
				_, err := store.Block(ctx, juliet, mustJID(t, it))
				require.NoError(t, err)
			}
			f := newFilter(t, c.config(blocking.StoreChecker(store)))
			blocked, err := f.Blocked(ctx, juliet, c.peerOf(t))
			require.NoError(t, err)
			require.Equal(t, c.blocked, blocked)
		})
	}
}

// linearChecker is a host's own XEP-0191 check: mellium's blocklist.Match
// over a list.
func linearChecker(items []jid.JID) blocking.CheckerFunc {
	return func(_ context.Context, _, peer jid.JID) (bool, error) {
		for _, it := range items {
			if blocklist.Match(peer, it) {
				return true, nil
			}
		}
		return false, nil
	}
}

// TestFilterDecorator runs the table over a host's own check (mellium's
// blocklist.Match), which the Filter decorates.
func TestFilterDecorator(t *testing.T) {
	for _, c := range filterCases {
		t.Run(c.name, func(t *testing.T) {
			var items []jid.JID
			for _, it := range c.items {
				items = append(items, mustJID(t, it))
			}
			f := newFilter(t, c.config(linearChecker(items)))
			blocked, err := f.Blocked(context.Background(), mustJID(t, "juliet@capulet.lit/balcony"), c.peerOf(t))
			require.NoError(t, err)
			require.Equal(t, c.blocked, blocked)
		})
	}
}

func TestFilterError(t *testing.T) {
	errStore := errors.New("store down")
	calls := 0
	f := newFilter(t, blocking.FilterConfig{Checker: blocking.CheckerFunc(func(context.Context, jid.JID, jid.JID) (bool, error) {
		calls++
		return false, errStore
	}), MatchRealJID: true})
	blocked, err := f.Blocked(context.Background(), juliet, blocking.Peer{
		JID: jid.MustParse("coven@mix.example/123"), Groupchat: true, RealJID: jid.MustParse("romeo@montague.net"),
	})
	require.ErrorIs(t, err, errStore)
	require.False(t, blocked)
	require.Equal(t, 1, calls, "the first failure ends the decision")
}

func TestNilFilter(t *testing.T) {
	var f *blocking.Filter
	require.False(t, f.NeedsRealJID())
	blocked, err := f.Blocked(context.Background(), juliet, blocking.Peer{JID: jid.MustParse("coven@mix.example")})
	require.NoError(t, err)
	require.False(t, blocked)
}

func TestNeedsRealJID(t *testing.T) {
	check := blocking.StoreChecker(blocking.NewMemStore())
	require.False(t, newFilter(t, blocking.FilterConfig{Checker: check}).NeedsRealJID())
	require.True(t, newFilter(t, blocking.FilterConfig{Checker: check, MatchRealJID: true}).NeedsRealJID())
}

// TestNewFilterRefusesNoChecker checks that a missing Checker is reported
// as an error when the filter is built, not as a panic or as a nil
// dereference on first use; StoreChecker of no Store is no Checker.
func TestNewFilterRefusesNoChecker(t *testing.T) {
	for name, c := range map[string]blocking.FilterConfig{
		"no checker":           {},
		"store checker of nil": {Checker: blocking.StoreChecker(nil), MatchRealJID: true},
	} {
		t.Run(name, func(t *testing.T) {
			f, err := blocking.NewFilter(c)
			require.ErrorContains(t, err, "FilterConfig.Checker is required")
			require.Nil(t, f)
		})
	}
}
