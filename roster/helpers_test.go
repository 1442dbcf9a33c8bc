package roster_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
	"github.com/mixpam/mixpam/ns"
	"github.com/mixpam/mixpam/roster"
)

var (
	juliet  = jid.MustParse("juliet@example.com")
	balcony = jid.MustParse("juliet@example.com/balcony")
	chamber = jid.MustParse("juliet@example.com/chamber")
	garden  = jid.MustParse("juliet@example.com/garden")
	romeo   = jid.MustParse("romeo@example.net")
	nurse   = jid.MustParse("nurse@example.com")
	coven   = jid.MustParse("coven@mix.shakespeare.example")
	tavern  = jid.MustParse("tavern@mix.shakespeare.example")
)

// fixture is a Handler over in-memory seams with juliet's three sessions
// online.
type fixture struct {
	store    *roster.MemStore
	sessions *host.MemSessions
	rec      *hosttest.Recorder
	h        *roster.Handler
	removed  chan roster.Item
}

// newHandler builds a Handler for c, failing tb if NewHandler refuses.
func newHandler(tb testing.TB, c roster.HandlerConfig) *roster.Handler {
	tb.Helper()
	h, err := roster.NewHandler(c)
	require.NoError(tb, err)
	return h
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		store:    roster.NewMemStore(),
		sessions: host.NewMemSessions(),
		rec:      hosttest.NewRecorder(nil),
		removed:  make(chan roster.Item, 10),
	}
	for _, s := range []jid.JID{balcony, chamber, garden} {
		f.sessions.Add(host.Resource{JID: s, Interested: true, MIXCapable: true})
	}
	f.h = newHandler(t, roster.HandlerConfig{Store: f.store, Sessions: f.sessions, Router: f.rec, OnRemove: func(_ context.Context, _ jid.JID, it roster.Item) {
		f.removed <- it
	}})
	return f
}

// seed puts a contact and two channels in juliet's roster.
func (f *fixture) seed(t *testing.T) uint64 {
	t.Helper()
	ctx := testContext(t)
	_, err := f.store.Put(ctx, juliet, roster.Item{JID: romeo, Name: "Romeo", Subscription: roster.Both, Groups: []string{"Friends"}})
	require.NoError(t, err)
	_, err = f.store.Put(ctx, juliet, roster.ChannelItem(coven, "123456", "The Coven", true))
	require.NoError(t, err)
	ver, err := f.store.Put(ctx, juliet, roster.ChannelItem(tavern, "7890", "", false))
	require.NoError(t, err)
	return ver
}

// request sends one IQ from session to the handler and returns what it
// routed in answer and pushes, in order.
func (f *fixture) request(t *testing.T, session jid.JID, typ stanza.IQType, payload string) []wireIQ {
	t.Helper()
	ctx := testContext(t)
	before := len(f.rec.Deliveries())
	iq := stanza.IQ{ID: "req-1", Type: typ, From: session}
	require.NoError(t, f.h.ServeIQ(ctx, iq, xml.NewDecoder(strings.NewReader(payload)), host.RouteReplies(f.rec)))
	return parseAll(t, f.rec.Deliveries()[before:])
}

func (f *fixture) flag(t *testing.T, session jid.JID) bool {
	t.Helper()
	r, ok := f.sessions.Resource(session)
	require.True(t, ok)
	return r.Annotate
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// wireIQ is an IQ as a client receives it.
type wireIQ struct {
	to      string
	XMLName xml.Name `xml:"iq"`
	Type    string   `xml:"type,attr"`
	ID      string   `xml:"id,attr"`
	From    string   `xml:"from,attr"`
	To      string   `xml:"to,attr"`
	Query   *struct {
		Ver   *string    `xml:"ver,attr"`
		Items []wireItem `xml:"jabber:iq:roster item"`
	} `xml:"jabber:iq:roster query"`
	Error *struct {
		Type  string `xml:"type,attr"`
		Inner []struct {
			XMLName xml.Name
		} `xml:",any"`
	} `xml:"error"`
}

type wireItem struct {
	JID          string   `xml:"jid,attr"`
	Name         string   `xml:"name,attr"`
	Subscription string   `xml:"subscription,attr"`
	Ask          string   `xml:"ask,attr"`
	Groups       []string `xml:"jabber:iq:roster group"`
	Channel      *struct {
		ParticipantID string `xml:"participant-id,attr"`
	} `xml:"urn:xmpp:mix:roster:0 channel"`
}

// condition returns the stanza error condition of an error IQ.
func (w wireIQ) condition() string {
	if w.Error == nil {
		return ""
	}
	for _, e := range w.Error.Inner {
		if e.XMLName.Space == ns.Stanzas && e.XMLName.Local != "text" {
			return e.XMLName.Local
		}
	}
	return "?"
}

// ver returns the query's ver attribute.
func (w wireIQ) ver(t *testing.T) string {
	t.Helper()
	require.NotNil(t, w.Query, "no query")
	require.NotNil(t, w.Query.Ver, "no ver")
	return *w.Query.Ver
}

// verNumber returns the query's ver as a number, without the annotated
// suffix.
func (w wireIQ) verNumber(t *testing.T) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(strings.TrimSuffix(w.ver(t), "+mix"), 10, 64)
	require.NoError(t, err)
	return n
}

// item returns the item for contact.
func (w wireIQ) item(t *testing.T, contact jid.JID) wireItem {
	t.Helper()
	require.NotNil(t, w.Query, "no query")
	for _, it := range w.Query.Items {
		if it.JID == contact.String() {
			return it
		}
	}
	t.Fatalf("no item for %s", contact)
	return wireItem{}
}

func parseAll(t *testing.T, ds []hosttest.Delivery) []wireIQ {
	t.Helper()
	out := make([]wireIQ, len(ds))
	for i, d := range ds {
		out[i] = parseIQ(t, d.Stanza)
		out[i].to = d.To.String()
		require.Equal(t, d.To.String(), out[i].To, "routed to one JID, addressed to another")
	}
	return out
}

func parseIQ(t *testing.T, raw []byte) wireIQ {
	t.Helper()
	var w wireIQ
	d := xml.NewDecoder(bytes.NewReader(raw))
	d.DefaultSpace = ns.Client
	require.NoError(t, d.Decode(&w), "%s", raw)
	return w
}

// pushesTo returns the pushes among ws addressed to session.
func pushesTo(ws []wireIQ, session jid.JID) []wireIQ {
	var out []wireIQ
	for _, w := range ws {
		if w.Type == "set" && w.to == session.String() {
			out = append(out, w)
		}
	}
	return out
}
