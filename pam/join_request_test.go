package pam

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/ns"
)

// XEP-0405 Listings 4 and 8, as the client sends them (the line break in the
// channel attribute of Listing 4 is an artefact of the PDF and left out).
const (
	xep0405Listing4 = `<iq type='set'
  from='hag66@shakespeare.example/UUID-a1j/7533'
  to='hag66@shakespeare.example'
  id='E6E10350-76CF-40C6-B91B-1EA08C332FC7'>
  <client-join xmlns='urn:xmpp:mix:pam:2' channel='coven@mix.shakespeare.example'>
    <join xmlns='urn:xmpp:mix:core:1'>
      <subscribe node='urn:xmpp:mix:nodes:messages' />
      <subscribe node='urn:xmpp:mix:nodes:presence' />
      <subscribe node='urn:xmpp:mix:nodes:participants' />
      <subscribe node='urn:xmpp:mix:nodes:info' />
    </join>
  </client-join>
</iq>`
	xep0405Listing8 = `<iq type='set'
  from='hag66@shakespeare.example/UUID-a1j/7533'
  to='hag66@shakespeare.example'
  id='E6E10350-76CF-40C6-B91B-1EA08C332FC7'>
  <client-leave xmlns='urn:xmpp:mix:pam:2'
    channel='coven@mix.shakespeare.example'>
    <leave xmlns='urn:xmpp:mix:core:1' />
  </client-leave>
</iq>`
	// XEP-0369 §"Joining a Channel" (with a nick) and XEP-0404 §"User
	// Preferences" (with a form), wrapped in client-join.
	xep0369JoinWithNick = `<iq type='set' from='hag66@shakespeare.example/UUID-a1j/7533' id='E6E10350'>
  <client-join xmlns='urn:xmpp:mix:pam:2' channel='coven@mix.shakespeare.example'>
    <join xmlns='urn:xmpp:mix:core:1'>
      <subscribe node='urn:xmpp:mix:nodes:messages'/>
      <subscribe node='urn:xmpp:mix:nodes:presence'/>
      <subscribe node='urn:xmpp:mix:nodes:participants'/>
      <subscribe node='urn:xmpp:mix:nodes:info'/>
      <nick>third witch</nick>
    </join>
  </client-join>
</iq>`
	xep0404JoinWithForm = `<iq type='set' from='hag66@shakespeare.example/UUID-a1j/7533' id='E6E10350'>
  <client-join xmlns='urn:xmpp:mix:pam:2' channel='coven@mix.shakespeare.example'>
    <join xmlns='urn:xmpp:mix:core:1'>
      <subscribe node='urn:xmpp:mix:nodes:messages'/>
      <subscribe node='urn:xmpp:mix:nodes:presence'/>
      <x xmlns='jabber:x:data' type='submit'>
        <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mix:anon:0</value></field>
        <field var='JID Visibility'><value>never</value></field>
        <field var='Presence'><value>not share</value></field>
      </x>
    </join>
  </client-join>
</iq>`
)

// parseTestIQ splits a serialised IQ into its header and a reader of its
// children, as a host hands them to ServeIQ.
func parseTestIQ(raw string) (stanza.IQ, xml.TokenReader, error) {
	dec := xml.NewDecoder(strings.NewReader(raw))
	for {
		tok, err := dec.Token()
		if err != nil {
			return stanza.IQ{}, nil, err
		}
		if start, ok := tok.(xml.StartElement); ok {
			iq, err := stanza.NewIQ(start)
			return iq, xmlstream.Inner(dec), err
		}
	}
}

func TestParseJoinRequestXEPExamples(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		leave     bool
		inner     string
	}{
		{name: "XEP-0405 Listing 4", raw: xep0405Listing4, inner: testJoin},
		{name: "XEP-0405 Listing 8", raw: xep0405Listing8, leave: true, inner: `<leave xmlns='urn:xmpp:mix:core:1' />`},
		{name: "XEP-0369 join with nick", raw: xep0369JoinWithNick, inner: `<join xmlns='urn:xmpp:mix:core:1'>
      <subscribe node='urn:xmpp:mix:nodes:messages'/>
      <subscribe node='urn:xmpp:mix:nodes:presence'/>
      <subscribe node='urn:xmpp:mix:nodes:participants'/>
      <subscribe node='urn:xmpp:mix:nodes:info'/>
      <nick>third witch</nick>
    </join>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			iq, payload, err := parseTestIQ(tc.raw)
			require.NoError(t, err)
			req, err := parseJoinRequest(iq, payload)
			require.NoError(t, err)
			require.Equal(t, tc.leave, req.leave)
			require.Equal(t, testClientA.String(), req.client.String())
			require.Equal(t, testUser.String(), req.user.String())
			require.Equal(t, testChannel.String(), req.channel.String())
			require.Equal(t, iq.ID, req.id)
			require.Equal(t, canonicalXML(t, tc.inner), canonicalXML(t, string(req.inner)))
		})
	}
}

// The request parser must stop at nothing a token reader can return: an
// error, or neither a token nor an error (which must not make it spin).
func TestParseJoinRequestReaderErrors(t *testing.T) {
	iq := stanza.IQ{Type: stanza.SetIQ, From: testClientA, ID: "x"}
	start := xml.StartElement{Name: clientJoinName, Attr: []xml.Attr{{Name: xml.Name{Local: "channel"}, Value: testChannel.String()}}}
	join := xml.StartElement{Name: mixJoinName}
	for _, end := range []struct {
		name string
		err  error // returned after the tokens, with no token
		text string
	}{
		{name: "error", err: errors.New("connection reset"), text: "the payload is not well-formed XML: connection reset"},
		{name: "stalled", text: "the payload could not be read"},
	} {
		for _, tc := range []struct {
			name   string
			tokens []xml.Token
		}{
			{name: "before payload"},
			{name: "in wrapper", tokens: []xml.Token{start}},
			{name: "in join", tokens: []xml.Token{start, join}},
			{name: "after payload", tokens: []xml.Token{start, join, join.End(), start.End()}},
		} {
			t.Run(end.name+" "+tc.name, func(t *testing.T) {
				i := 0
				r := xmlstream.ReaderFunc(func() (xml.Token, error) {
					if i < len(tc.tokens) {
						i++
						return tc.tokens[i-1], nil
					}
					return nil, end.err
				})
				_, err := parseJoinRequest(iq, r)
				var se stanza.Error
				require.ErrorAs(t, err, &se)
				require.Equal(t, stanza.BadRequest, se.Condition)
				require.Equal(t, end.text, se.Text[""])
			})
		}
	}
	t.Run("stray end", func(t *testing.T) {
		_, err := parseJoinRequest(iq, xmlstream.Token(start.End()))
		var se stanza.Error
		require.ErrorAs(t, err, &se)
		require.Equal(t, stanza.BadRequest, se.Condition)
		require.NotEmpty(t, se.Text[""])
	})
}

// FuzzJoinRequest feeds whole client IQs to the request parser. Whatever it
// accepts must be a well-formed <join/> or <leave/> for a bare channel JID;
// whatever it refuses must come with a stanza error and a text.
func FuzzJoinRequest(f *testing.F) {
	for _, seed := range []string{xep0405Listing4, xep0405Listing8, xep0369JoinWithNick, xep0404JoinWithForm} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		iq, payload, err := parseTestIQ(string(raw))
		if err != nil {
			return
		}
		iq.From = testClientA // as the host stamps it
		req, err := parseJoinRequest(iq, payload)
		if err != nil {
			var se stanza.Error
			require.ErrorAs(t, err, &se)
			require.NotEmpty(t, se.Condition)
			require.NotEmpty(t, se.Type)
			require.NotEmpty(t, se.Text[""])
			return
		}
		require.Equal(t, stanza.SetIQ, iq.Type)
		require.NotEmpty(t, req.id)
		require.Equal(t, testUser.String(), req.user.String())
		require.NotEmpty(t, req.channel.Localpart())
		require.Empty(t, req.channel.Resourcepart())

		// The forwarded element is one well-formed element of the right
		// name, and serialising it again changes nothing.
		dec := xml.NewDecoder(bytes.NewReader(req.inner))
		tok, err := dec.Token()
		require.NoError(t, err)
		start, ok := tok.(xml.StartElement)
		require.True(t, ok)
		require.Equal(t, req.command(), start.Name)
		again, err := xmlenc.Append(nil, xmlstream.MultiReader(xmlstream.Token(start), dec), ns.Client)
		require.NoError(t, err)
		require.Equal(t, string(req.inner), string(again))
		_, err = dec.Token()
		require.ErrorIs(t, err, io.EOF)
	})
}
