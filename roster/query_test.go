package roster_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"
	mroster "mellium.im/xmpp/roster"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/roster"
)

func TestParseQuery(t *testing.T) {
	for _, tc := range []struct {
		name    string
		typ     stanza.IQType
		payload string
		want    roster.Query
	}{
		{
			name:    "plain get (RFC 6121 §2.1.3)",
			typ:     stanza.GetIQ,
			payload: `<query xmlns='jabber:iq:roster'/>`,
		},
		{
			name:    "get with ver (RFC 6121 §2.6.2)",
			typ:     stanza.GetIQ,
			payload: "\n  <query xmlns='jabber:iq:roster' ver='ver14'/>",
			want:    roster.Query{Ver: "ver14", HasVer: true},
		},
		{
			name:    "bootstrap get",
			typ:     stanza.GetIQ,
			payload: `<query xmlns='jabber:iq:roster' ver=''/>`,
			want:    roster.Query{HasVer: true},
		},
		{
			name: "annotated get (XEP-0405 §2.10 listing 17) with an unknown extension",
			typ:  stanza.GetIQ,
			payload: `<query xmlns='jabber:iq:roster'>
				<x xmlns='urn:example'><annotate xmlns='urn:xmpp:mix:roster:0'/></x>
				<annotate xmlns='urn:xmpp:mix:roster:0' />
			</query>`,
			want: roster.Query{Annotate: true},
		},
		{
			name:    "annotate nested in an extension does not count",
			typ:     stanza.GetIQ,
			payload: `<query xmlns='jabber:iq:roster'><x xmlns='urn:example'><annotate xmlns='urn:xmpp:mix:roster:0'/></x></query>`,
		},
		{
			name:    "annotate in a set does not count",
			typ:     stanza.SetIQ,
			payload: `<query xmlns='jabber:iq:roster'><annotate xmlns='urn:xmpp:mix:roster:0'/><item jid='nurse@example.com'/></query>`,
			want:    roster.Query{Item: roster.Item{JID: nurse}},
		},
		{
			name: "set (RFC 6121 §2.3.1) ignoring what clients may not set",
			typ:  stanza.SetIQ,
			payload: `<query xmlns='jabber:iq:roster'>
				<item jid='nurse@example.com' name='Nurse' subscription='both' ask='subscribe' approved='true'>
					<group>Servants</group>
					<group>Family &amp; friends<!-- a comment --></group>
					<channel xmlns='urn:xmpp:mix:roster:0' participant-id='1'/>
				</item>
			</query>`,
			want: roster.Query{Item: roster.Item{JID: nurse, Name: "Nurse", Groups: []string{"Servants", "Family & friends"}}},
		},
		{
			name:    "remove (RFC 6121 §2.5.1)",
			typ:     stanza.SetIQ,
			payload: `<query xmlns='jabber:iq:roster'><item jid='nurse@example.com' subscription='remove'/></query>`,
			want:    roster.Query{Item: roster.Item{JID: nurse, Subscription: roster.Remove}},
		},
		{
			name:    "prefixed namespace",
			typ:     stanza.SetIQ,
			payload: `<r:query xmlns:r='jabber:iq:roster'><r:item jid='Nurse@Example.com'><r:group>G</r:group><group xmlns='urn:example'>not roster</group></r:item></r:query>`,
			want:    roster.Query{Item: roster.Item{JID: nurse, Groups: []string{"G"}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := roster.ParseQuery(tc.typ, xml.NewDecoder(strings.NewReader(tc.payload)))
			require.NoError(t, err)
			requireQuery(t, tc.want, q)
		})
	}
}

// TestParseQueryHandBuiltTokens reads a set built the way mellium builds
// one: children without a namespace of their own inherit the query's.
func TestParseQueryHandBuiltTokens(t *testing.T) {
	iq := mroster.IQ{}
	iq.Query.Item = []mroster.Item{{JID: nurse, Name: "Nurse", Group: []string{"Servants"}}}
	r := iq.TokenReader()
	_, err := r.Token() // the <iq/> start
	require.NoError(t, err)
	q, err := roster.ParseQuery(stanza.SetIQ, r)
	require.NoError(t, err)
	requireQuery(t, roster.Query{HasVer: true, Item: roster.Item{JID: nurse, Name: "Nurse", Groups: []string{"Servants"}}}, q)
}

func TestParseQueryErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		typ     stanza.IQType
		payload string
		want    stanza.Condition // "" for a read error
	}{
		{"no payload", stanza.GetIQ, "", stanza.BadRequest},
		{"whitespace only", stanza.GetIQ, "\n ", stanza.BadRequest},
		{"wrong namespace", stanza.GetIQ, `<query xmlns='jabber:iq:private'/>`, stanza.ServiceUnavailable},
		{"wrong element", stanza.SetIQ, `<item xmlns='jabber:iq:roster' jid='a@b'/>`, stanza.ServiceUnavailable},
		{"get with an item", stanza.GetIQ, `<query xmlns='jabber:iq:roster'><item jid='a@b'/></query>`, stanza.BadRequest},
		{"empty jid", stanza.SetIQ, `<query xmlns='jabber:iq:roster'><item jid=''/></query>`, stanza.BadRequest},
		{"truncated", stanza.SetIQ, `<query xmlns='jabber:iq:roster'><item jid='a@b'><group>x`, ""},
		{"syntax error", stanza.GetIQ, `<query xmlns='jabber:iq:roster'><</query>`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := roster.ParseQuery(tc.typ, xml.NewDecoder(strings.NewReader(tc.payload)))
			requireQueryError(t, tc.want, err)
		})
	}
}

// requireQueryError checks that err is the stanza error with condition want
// and a text, or, for an empty want, a read error that is not a stanza
// error.
func requireQueryError(t *testing.T, want stanza.Condition, err error) {
	t.Helper()
	require.Error(t, err)
	var se stanza.Error
	if want == "" {
		require.False(t, errors.As(err, &se), "a read error is not the client's stanza error: %v", err)
		return
	}
	require.ErrorAs(t, err, &se)
	require.Equal(t, want, se.Condition)
	require.NotEmpty(t, se.Text[""], "errors explain themselves")
}

// requireQuery compares queries, JIDs with Equal.
func requireQuery(t *testing.T, want, got roster.Query) {
	t.Helper()
	require.True(t, want.Item.JID.Equal(got.Item.JID), "jid: want %s, got %s", want.Item.JID, got.Item.JID)
	want.Item.JID, got.Item.JID = jid.JID{}, jid.JID{}
	require.Equal(t, want, got)
}

// FuzzParseQuery feeds arbitrary payloads to the parsers of incoming roster
// gets and sets: ParseQuery, and Annotator.Request which rewrites what
// ParseQuery accepts. They must never panic or hang; what ParseQuery accepts
// must respect the limits and survive rendering and parsing again; what
// Request hands a host's module must be a roster query without <annotate/>.
func FuzzParseQuery(f *testing.F) {
	for _, seed := range []string{
		// RFC 6121 §2.1.3, §2.6.2; XEP-0405 §2.10 listing 17.
		`<query xmlns='jabber:iq:roster'/>`,
		`<query xmlns='jabber:iq:roster' ver='ver14'/>`,
		`<query xmlns='jabber:iq:roster'><annotate xmlns='urn:xmpp:mix:roster:0' /></query>`,
		// RFC 6121 §2.3.1, §2.4.1, §2.5.1, §2.3.3; XEP-0405 §2.10 listing 19.
		`<query xmlns='jabber:iq:roster'><item jid='nurse@example.com' name='Nurse'><group>Servants</group></item></query>`,
		`<query xmlns='jabber:iq:roster'><item jid='romeo@example.net' name=''/></query>`,
		`<query xmlns='jabber:iq:roster'><item jid='nurse@example.com' subscription='remove'/></query>`,
		`<query xmlns='jabber:iq:roster'><item jid='nurse@example.com' name='Nurse'><group>Servants</group><group>Servants</group></item></query>`,
		`<query xmlns='jabber:iq:roster'><item jid='nurse@example.com'><group></group></item></query>`,
		`<query xmlns='jabber:iq:roster'><item jid='nurse@example.com'/><item jid='mother@example.com'/></query>`,
		`<query xmlns='jabber:iq:roster'><item jid='balcony@example.net'><channel xmlns='urn:xmpp:mix:roster:0' participant-id='123456' /></item></query>`,
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	sessions := host.NewMemSessions()
	sessions.Add(host.Resource{JID: balcony, Interested: true})
	store := roster.NewMemStore()
	_, err := store.Put(context.Background(), juliet, roster.ChannelItem(coven, "1", "", true))
	require.NoError(f, err)
	a := roster.Annotator{Sessions: sessions, Roster: store}

	f.Fuzz(func(t *testing.T, payload []byte, set bool) {
		typ := stanza.GetIQ
		if set {
			typ = stanza.SetIQ
		}
		q, err := roster.ParseQuery(typ, xml.NewDecoder(bytes.NewReader(payload)))
		if err != nil {
			return
		}
		forModule, rerr := a.Request(context.Background(), stanza.IQ{Type: typ, From: balcony}, xml.NewDecoder(bytes.NewReader(payload)))
		if !set {
			require.Equal(t, roster.Item{}, q.Item)
			require.NoError(t, rerr)
			again, err := roster.ParseQuery(typ, forModule)
			require.NoError(t, err)
			require.False(t, again.Annotate, "the module sees no <annotate/>")
			require.Equal(t, q.HasVer, again.HasVer)
			if q.HasVer && again.Ver != "" {
				require.Equal(t, q.Ver, again.Ver+map[bool]string{true: "+mix"}[q.Annotate])
			}
			return
		}
		if q.Item.JID.Equal(coven) {
			var se stanza.Error
			require.ErrorAs(t, rerr, &se)
			require.Equal(t, stanza.NotAllowed, se.Condition)
		} else {
			require.NoError(t, rerr)
			again, err := roster.ParseQuery(typ, forModule)
			require.NoError(t, err)
			requireQuery(t, q, again)
		}
		it := q.Item
		require.NotEmpty(t, it.JID.String())
		require.Empty(t, it.JID.Resourcepart())
		require.LessOrEqual(t, len(it.Name), 1023)
		require.LessOrEqual(t, len(it.Groups), 64)
		for i, g := range it.Groups {
			require.NotEmpty(t, g)
			require.LessOrEqual(t, len(g), 1023)
			require.True(t, utf8.ValidString(g))
			require.NotContains(t, it.Groups[:i], g)
		}
		require.Contains(t, []roster.Subscription{"", roster.Remove}, it.Subscription)
		require.False(t, it.Ask || it.Channel)

		// Render it as a set and read it back.
		if it.Subscription == "" {
			it.Subscription = roster.None
		}
		raw := roster.AppendItem([]byte(`<query xmlns="jabber:iq:roster">`), it, false)
		raw = append(raw, "</query>"...)
		again, err := roster.ParseQuery(stanza.SetIQ, xml.NewDecoder(bytes.NewReader(raw)))
		require.NoError(t, err, "%s", raw)
		want := q.Item
		if want.Subscription == roster.Remove {
			// A removal renders without name and groups.
			want.Name, want.Groups = "", nil
		}
		requireQuery(t, roster.Query{Item: want}, roster.Query{Item: again.Item})
	})
}

// stalledReader returns neither a token nor an error, forever.
type stalledReader struct{}

func (stalledReader) Token() (xml.Token, error) { return nil, nil }

// TestPayloadReaderGuards hands the parsers of incoming roster requests a
// nil payload (an IQ without children) and a reader that makes no progress:
// they must neither panic nor spin. A nil payload is a request without a
// query, answered bad-request.
func TestPayloadReaderGuards(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload xml.TokenReader
		want    stanza.Condition // "" for a read error
	}{
		{"nil payload", nil, stanza.BadRequest},
		{"reader without progress", stalledReader{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("ParseQuery", func(t *testing.T) {
				_, err := roster.ParseQuery(stanza.GetIQ, tc.payload)
				requireQueryError(t, tc.want, err)
			})
			t.Run("Annotator.Request", func(t *testing.T) {
				f := newFixture(t)
				a := roster.Annotator{Sessions: f.sessions, Roster: f.store}
				_, err := a.Request(testContext(t), stanza.IQ{ID: "g1", Type: stanza.GetIQ, From: balcony}, tc.payload)
				requireQueryError(t, tc.want, err)
			})
			t.Run("Handler.ServeIQ", func(t *testing.T) {
				f := newFixture(t)
				err := f.h.ServeIQ(testContext(t), stanza.IQ{ID: "g1", Type: stanza.GetIQ, From: balcony}, tc.payload, host.RouteReplies(f.rec))
				if tc.want != "" {
					require.NoError(t, err)
				}
				got := parseAll(t, f.rec.Deliveries())
				require.Len(t, got, 1, "one answer")
				require.Equal(t, "error", got[0].Type)
				require.Equal(t, "g1", got[0].ID)
				require.Equal(t, "bad-request", got[0].condition())
				require.False(t, f.flag(t, balcony), "a refused get sets no flag")
			})
		})
	}
}
