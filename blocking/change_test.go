package blocking_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/blocking"
)

func TestChangeAffects(t *testing.T) {
	user := jid.MustParse("hag66@shakespeare.example")
	for _, tc := range []struct {
		name  string
		items []string
		peer  blocking.Peer
		want  bool
	}{
		{"exact participant", []string{"123435#coven@mix.shakespeare.example"}, blocking.Peer{JID: jid.MustParse("123435#coven@mix.shakespeare.example/UUID-a1j")}, true},
		{"other participant", []string{"123435#coven@mix.shakespeare.example"}, blocking.Peer{JID: jid.MustParse("99#coven@mix.shakespeare.example/r")}, false},
		{"channel covers its participants", []string{"coven@mix.shakespeare.example"}, blocking.Peer{JID: jid.MustParse("99#coven@mix.shakespeare.example/r")}, true},
		{"channel itself", []string{"coven@mix.shakespeare.example"}, blocking.Peer{JID: jid.MustParse("coven@mix.shakespeare.example")}, true},
		{"participant does not cover the channel", []string{"123435#coven@mix.shakespeare.example"}, blocking.Peer{JID: jid.MustParse("coven@mix.shakespeare.example")}, false},
		{"domain", []string{"montague.net"}, blocking.Peer{JID: jid.MustParse("romeo@montague.net/orchard")}, true},
		{"bare JID covers resources", []string{"romeo@montague.net"}, blocking.Peer{JID: jid.MustParse("romeo@montague.net/orchard")}, true},
		{"full JID only that resource", []string{"romeo@montague.net/orchard"}, blocking.Peer{JID: jid.MustParse("romeo@montague.net/garden")}, false},
		{"groupchat sender", []string{"123435#coven@mix.shakespeare.example"}, blocking.Peer{JID: jid.MustParse("coven@mix.shakespeare.example/123435"), Groupchat: true}, true},
		{"own resources never", []string{"shakespeare.example"}, blocking.Peer{JID: jid.MustParse("hag66@shakespeare.example/laptop")}, false},
		{"no items", nil, blocking.Peer{JID: jid.MustParse("romeo@montague.net")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := blocking.Change{User: user}
			for _, it := range tc.items {
				c.Items = append(c.Items, jid.MustParse(it))
			}
			require.Equal(t, tc.want, c.Affects(tc.peer))
		})
	}
}

// changes records the changes a Handler reports.
type changes struct {
	mu   sync.Mutex
	got  []blocking.Change
	fail error
}

func (c *changes) BlocklistChanged(_ context.Context, ch blocking.Change) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, ch)
	return c.fail
}

func TestHandlerReportsChanges(t *testing.T) {
	mercutio := jid.MustParse("mercutio@verona.lit")
	for _, tc := range []struct {
		name string
		raw  string
		want []blocking.Change
	}{{
		name: "block reports the items added",
		raw:  `<iq type='set' id='b1' from='juliet@capulet.lit/chamber'><block xmlns='urn:xmpp:blocking'><item jid='romeo@montague.net'/><item jid='mercutio@verona.lit'/></block></iq>`,
		want: []blocking.Change{{User: juliet, Items: []jid.JID{mercutio}}},
	}, {
		name: "unblock reports the items removed",
		raw:  `<iq type='set' id='u1' from='juliet@capulet.lit/chamber'><unblock xmlns='urn:xmpp:blocking'><item jid='romeo@montague.net'/><item jid='mercutio@verona.lit'/></unblock></iq>`,
		want: []blocking.Change{{User: juliet, Unblock: true, Items: []jid.JID{romeo}}},
	}, {
		name: "unblock all reports every item removed",
		raw:  `<iq type='set' id='u2' from='juliet@capulet.lit/chamber'><unblock xmlns='urn:xmpp:blocking'/></iq>`,
		want: []blocking.Change{{User: juliet, Unblock: true, Items: []jid.JID{romeo}}},
	}, {
		name: "no change, no report",
		raw:  `<iq type='set' id='b2' from='juliet@capulet.lit/chamber'><block xmlns='urn:xmpp:blocking'><item jid='romeo@montague.net'/></block></iq>`,
	}, {
		name: "retrieval reports nothing",
		raw:  `<iq type='get' id='g1' from='juliet@capulet.lit/chamber'><blocklist xmlns='urn:xmpp:blocking'/></iq>`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &changes{}
			e := newEnv(t, nil, nil, withPresence(rec))
			answer := e.do(t, tc.raw)
			require.Contains(t, answer, `type="result"`)
			require.Equal(t, tc.want, rec.got)
		})
	}
}

// A failing PresenceUpdater does not fail the command, which took effect.
func TestHandlerPresenceFailureStillAnswers(t *testing.T) {
	rec := &changes{fail: errors.New("presence down")}
	e := newEnv(t, nil, nil, withPresence(blocking.PresenceUpdaters{rec, rec}))
	answer := e.do(t, `<iq type='set' id='u1' from='juliet@capulet.lit/chamber'><unblock xmlns='urn:xmpp:blocking'/></iq>`)
	require.Contains(t, answer, `type="result"`)
	require.Len(t, rec.got, 2, "every updater is called")
	items, err := e.store.Items(context.Background(), juliet)
	require.NoError(t, err)
	require.Empty(t, items)
}
