package roster_test

import (
	"context"
	"encoding/xml"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	mroster "mellium.im/xmpp/roster"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/ns"
	"github.com/mixpam/mixpam/roster"
)

func newAnnotator(t *testing.T) (roster.Annotator, *fixture) {
	t.Helper()
	f := newFixture(t)
	f.seed(t)
	return roster.Annotator{Sessions: f.sessions, Roster: f.store}, f
}

// canonical serialises XML text the way the transformer's output is
// serialised below, so that the two compare as strings.
func canonical(t *testing.T, s string) string {
	t.Helper()
	return render(t, xml.NewDecoder(strings.NewReader(s)))
}

func render(t *testing.T, r xml.TokenReader) string {
	t.Helper()
	raw, err := xmlenc.Marshal(r, ns.Client)
	require.NoError(t, err)
	return string(raw)
}

// foreignResult is a roster result from a host's own roster module, with
// extensions this package knows nothing about.
const foreignResult = `<iq xmlns='jabber:client' type='result' id='r1' to='juliet@example.com/balcony' xmlns:ext='urn:example:ext'>
  <query xmlns='jabber:iq:roster' ver='42' ext:flag='1'>
    <item jid='romeo@example.net' name='Romeo' subscription='both' approved='true' ext:color='red'>
      <group>Friends</group>
      <ext:note>met at <ext:b>the</ext:b> ball</ext:note>
    </item>
    <item jid='coven@mix.shakespeare.example' name='Coven' subscription='from'><group>MIX</group>%s</item>
    <item jid='tavern@mix.shakespeare.example' subscription='none'>%s</item>
    <ext:unknown><item jid='coven@mix.shakespeare.example'/></ext:unknown>
  </query>
  <ext:extra>text</ext:extra>
</iq>`

func TestTransformForeignResult(t *testing.T) {
	a, f := newAnnotator(t)
	ctx := testContext(t)
	require.NoError(t, f.sessions.SetAnnotate(ctx, balcony, true))

	// fill puts ver and the contents of coven's and tavern's items in.
	fill := func(ver, coven, tavern string) string {
		s := strings.Replace(foreignResult, "ver='42'", "ver='"+ver+"'", 1)
		s = strings.Replace(s, "%s", coven, 1)
		return strings.Replace(s, "%s", tavern, 1)
	}
	// The module left a stale annotation in the tavern item: only this
	// package annotates.
	in := fill("42", "", `<channel xmlns='urn:xmpp:mix:roster:0' participant-id='stale'><x/></channel>`)
	for _, tc := range []struct {
		session jid.JID
		want    string
	}{
		{balcony, fill("42+mix",
			`<channel xmlns='urn:xmpp:mix:roster:0' participant-id='123456'/>`,
			`<channel xmlns='urn:xmpp:mix:roster:0' participant-id='7890'/>`)},
		{chamber, fill("42", "", "")},
	} {
		t.Run(tc.session.Resourcepart(), func(t *testing.T) {
			r, err := a.Transform(ctx, tc.session, xml.NewDecoder(strings.NewReader(in)))
			require.NoError(t, err)
			require.Equal(t, canonical(t, tc.want), render(t, r))
		})
	}
}

func TestTransformPush(t *testing.T) {
	a, f := newAnnotator(t)
	ctx := testContext(t)
	require.NoError(t, f.sessions.SetAnnotate(ctx, garden, true))
	for _, tc := range []struct {
		name, in, want string
	}{
		{
			name: "channel",
			in:   `<iq xmlns='jabber:client' type='set' id='p1'><query xmlns='jabber:iq:roster' ver='43'><item jid='coven@mix.shakespeare.example' subscription='none'/></query></iq>`,
			want: `<iq xmlns='jabber:client' type='set' id='p1'><query xmlns='jabber:iq:roster' ver='43+mix'><item jid='coven@mix.shakespeare.example' subscription='none'><channel xmlns='urn:xmpp:mix:roster:0' participant-id='123456'/></item></query></iq>`,
		},
		{
			name: "removal",
			in:   `<iq xmlns='jabber:client' type='set' id='p2'><query xmlns='jabber:iq:roster' ver='44'><item jid='coven@mix.shakespeare.example' subscription='remove'/></query></iq>`,
			want: `<iq xmlns='jabber:client' type='set' id='p2'><query xmlns='jabber:iq:roster' ver='44+mix'><item jid='coven@mix.shakespeare.example' subscription='remove'/></query></iq>`,
		},
		{
			name: "payload only, no ver",
			in:   `<query xmlns='jabber:iq:roster'><item jid='tavern@mix.shakespeare.example'/></query>`,
			want: `<query xmlns='jabber:iq:roster'><item jid='tavern@mix.shakespeare.example'><channel xmlns='urn:xmpp:mix:roster:0' participant-id='7890'/></item></query>`,
		},
		{
			name: "not a roster stanza",
			in:   `<iq xmlns='jabber:client' type='set' id='p3'><other xmlns='urn:example'><item jid='coven@mix.shakespeare.example'/></other></iq>`,
			want: `<iq xmlns='jabber:client' type='set' id='p3'><other xmlns='urn:example'><item jid='coven@mix.shakespeare.example'/></other></iq>`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := a.Transform(ctx, garden, xml.NewDecoder(strings.NewReader(tc.in)))
			require.NoError(t, err)
			require.Equal(t, canonical(t, tc.want), render(t, r))
		})
	}
}

// TestTransformHandBuiltTokens transforms a push built the way mellium
// builds one: items inherit the query's namespace.
func TestTransformHandBuiltTokens(t *testing.T) {
	a, f := newAnnotator(t)
	ctx := testContext(t)
	require.NoError(t, f.sessions.SetAnnotate(ctx, balcony, true))
	iq := mroster.IQ{IQ: stanza.IQ{ID: "p1", Type: stanza.SetIQ, To: balcony}}
	iq.Query.Ver = "9"
	iq.Query.Item = []mroster.Item{{JID: coven, Subscription: "from", Group: []string{"MIX"}}}
	r, err := a.Transform(ctx, balcony, iq.TokenReader())
	require.NoError(t, err)
	// Hand-built tokens are meant for an xml.Encoder, as mellium uses.
	var out strings.Builder
	e := xml.NewEncoder(&out)
	_, err = xmlstream.Copy(e, r)
	require.NoError(t, err)
	require.NoError(t, e.Flush())
	require.Equal(t, `<iq type="set" to="juliet@example.com/balcony" id="p1"><query xmlns="jabber:iq:roster" ver="9+mix">`+
		`<item jid="coven@mix.shakespeare.example" subscription="from"><group>MIX</group>`+
		`<channel xmlns="urn:xmpp:mix:roster:0" participant-id="123456"></channel></item></query></iq>`, out.String())
}

func TestTransformLookupError(t *testing.T) {
	f := newFixture(t)
	ctx := testContext(t)
	require.NoError(t, f.sessions.SetAnnotate(ctx, balcony, true))
	a := roster.Annotator{Sessions: f.sessions, Roster: failingStore{f.store}}
	r, err := a.Transform(ctx, balcony, xml.NewDecoder(strings.NewReader(`<query xmlns='jabber:iq:roster'><item jid='coven@mix.shakespeare.example'/></query>`)))
	require.NoError(t, err)
	_, err = xmlenc.Marshal(r, ns.Client)
	require.ErrorIs(t, err, errDisk)

	// A plain session needs no lookup.
	r, err = a.Transform(ctx, chamber, xml.NewDecoder(strings.NewReader(`<query xmlns='jabber:iq:roster'><item jid='coven@mix.shakespeare.example'/></query>`)))
	require.NoError(t, err)
	_, err = xmlenc.Marshal(r, ns.Client)
	require.NoError(t, err)
}

func TestAnnotatorRequestGet(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       string
		annotate bool
		want     string
	}{
		{
			name:     "annotated, with an unknown extension",
			in:       `<query xmlns='jabber:iq:roster'><annotate xmlns='urn:xmpp:mix:roster:0'/><x xmlns='urn:example'>keep</x></query>`,
			annotate: true,
			want:     `<query xmlns='jabber:iq:roster'><x xmlns='urn:example'>keep</x></query>`,
		},
		{
			name:     "annotated cache, annotated get",
			in:       `<query xmlns='jabber:iq:roster' ver='42+mix'><annotate xmlns='urn:xmpp:mix:roster:0'/></query>`,
			annotate: true,
			want:     `<query xmlns='jabber:iq:roster' ver='42'></query>`,
		},
		{
			name:     "plain cache, annotated get: the module sends everything",
			in:       `<query xmlns='jabber:iq:roster' ver='42'><annotate xmlns='urn:xmpp:mix:roster:0'/></query>`,
			annotate: true,
			want:     `<query xmlns='jabber:iq:roster' ver=''></query>`,
		},
		{
			name: "annotated cache, plain get: the module sends everything",
			in:   `<query xmlns='jabber:iq:roster' ver='42+mix'/>`,
			want: `<query xmlns='jabber:iq:roster' ver=''/>`,
		},
		{
			name: "plain",
			in:   `<query xmlns='jabber:iq:roster' ver='42'/>`,
			want: `<query xmlns='jabber:iq:roster' ver='42'/>`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, f := newAnnotator(t)
			ctx := testContext(t)
			require.NoError(t, f.sessions.SetAnnotate(ctx, balcony, !tc.annotate))
			require.NoError(t, f.sessions.SetAnnotate(ctx, chamber, true))

			iq := stanza.IQ{ID: "g1", Type: stanza.GetIQ, From: balcony}
			r, err := a.Request(ctx, iq, xml.NewDecoder(strings.NewReader(tc.in)))
			require.NoError(t, err)
			require.Equal(t, canonical(t, tc.want), render(t, r))
			require.Equal(t, tc.annotate, f.flag(t, balcony))
			require.True(t, f.flag(t, chamber), "another session's flag changed")
			require.False(t, f.flag(t, garden), "another session's flag changed")
		})
	}
}

func TestAnnotatorRequestSet(t *testing.T) {
	a, f := newAnnotator(t)
	ctx := testContext(t)
	set := func(to, payload string) (string, error) {
		iq := stanza.IQ{ID: "s1", Type: stanza.SetIQ, From: balcony}
		if to != "" {
			iq.To = jid.MustParse(to)
		}
		r, err := a.Request(ctx, iq, xml.NewDecoder(strings.NewReader(payload)))
		if err != nil {
			return "", err
		}
		return render(t, r), nil
	}

	contact := `<query xmlns='jabber:iq:roster'><item jid='nurse@example.com' name='Nurse'><group>Servants</group><x xmlns='urn:example'/></item></query>`
	got, err := set("", contact)
	require.NoError(t, err)
	require.Equal(t, canonical(t, contact), got, "a contact's set passes unchanged")

	for _, payload := range []string{
		`<query xmlns='jabber:iq:roster'><item jid='coven@mix.shakespeare.example' name='Mine'/></query>`,
		`<query xmlns='jabber:iq:roster'><item jid='coven@mix.shakespeare.example' subscription='remove'/></query>`,
	} {
		_, err = set("juliet@example.com", payload)
		var se stanza.Error
		require.ErrorAs(t, err, &se)
		require.Equal(t, stanza.NotAllowed, se.Condition)
	}

	// Another user's roster: the module answers forbidden.
	foreign := `<query xmlns='jabber:iq:roster'><item jid='coven@mix.shakespeare.example' subscription='remove'/></query>`
	got, err = set("romeo@example.net", foreign)
	require.NoError(t, err)
	require.Equal(t, canonical(t, foreign), got)

	_, err = set("", `<query xmlns='jabber:iq:roster'/>`)
	var se stanza.Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, stanza.BadRequest, se.Condition)

	for _, s := range []jid.JID{balcony, chamber, garden} {
		require.False(t, f.flag(t, s), "a set changed a flag")
	}
}

func TestAnnotatorRequestOtherTypes(t *testing.T) {
	a, _ := newAnnotator(t)
	payload := xml.NewDecoder(strings.NewReader(`<query xmlns='jabber:iq:roster'/>`))
	r, err := a.Request(testContext(t), stanza.IQ{Type: stanza.ResultIQ, From: balcony}, payload)
	require.NoError(t, err)
	require.Same(t, payload, r.(*xml.Decoder))
}

type brokenSessions struct{ roster.Sessions }

func (brokenSessions) SetAnnotate(context.Context, jid.JID, bool) error {
	return errors.New("registry down")
}

func TestAnnotatorRequestFlagFailure(t *testing.T) {
	f := newFixture(t)
	a := roster.Annotator{Sessions: brokenSessions{f.sessions}, Roster: f.store}
	iq := stanza.IQ{ID: "g1", Type: stanza.GetIQ, From: balcony}
	_, err := a.Request(testContext(t), iq, xml.NewDecoder(strings.NewReader(annotatedGet)))
	require.Error(t, err)
	var se stanza.Error
	require.False(t, errors.As(err, &se), "not the client's fault")
}
