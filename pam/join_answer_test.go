package pam

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/ns"
)

// Channel answers from the XEPs: the payloads of XEP-0405 Listings 6 and
// 10, of the XEP-0369 join result, and of the XEP-0404 join result with
// preferences (in urn:xmpp:mix:core:1: the XEP's urn:xmpp:mix:anon:0 on
// <join/> is taken for a typo, as XEP-0369 defines <join/>).
const (
	xep0405Listing6 = `<join xmlns='urn:xmpp:mix:core:1' jid='123456#coven@mix.shakespeare.example'>
    <subscribe node='urn:xmpp:mix:nodes:messages' />
    <subscribe node='urn:xmpp:mix:nodes:presence' />
    <subscribe node='urn:xmpp:mix:nodes:participants' />
    <subscribe node='urn:xmpp:mix:nodes:info' />
  </join>`
	xep0405Listing10    = `<leave xmlns='urn:xmpp:mix:core:1' />`
	xep0369JoinResult   = `<join xmlns='urn:xmpp:mix:core:1' id='123456'><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>third witch</nick></join>`
	xep0404JoinResult   = `<join xmlns='urn:xmpp:mix:core:1' jid='hag66@shakespeare.example'><subscribe node='urn:xmpp:mix:nodes:messages'/><x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mix:anon:0</value></field><field var='JID Visibility'><value>never</value></field><field var='Presence'><value>not share</value></field></x></join>`
	testErrorSeveral    = `<error type='cancel' by='coven@mix.shakespeare.example'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>Nick in use</text><nick-taken xmlns='urn:example:mix'/></error>`
	testErrorWithEchoed = `<join xmlns='urn:xmpp:mix:core:1'/><error type='modify'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`
)

// testResponsePayload serialises raw as host.Exchange does for a
// host.Response.
func testResponsePayload(raw []byte) ([]byte, error) {
	return xmlenc.Marshal(xml.NewDecoder(bytes.NewReader(raw)), ns.Client)
}

func TestJoinSubscription(t *testing.T) {
	payload, err := testResponsePayload([]byte(xep0404JoinResult))
	require.NoError(t, err)
	_, join, ok := joinResultCommand(payload, mixJoinName)
	require.True(t, ok)
	require.False(t, joinSharesPresence(nil, join), "XEP-0404 Presence 'not share'")

	payload, err = testResponsePayload([]byte(xep0405Listing6))
	require.NoError(t, err)
	start, join, ok := joinResultCommand(payload, mixJoinName)
	require.True(t, ok)
	require.True(t, joinSharesPresence(nil, join), "share by default")
	require.Equal(t, "123456", joinParticipantID(start, testChannel))
}

// XEP-0404 lists the Presence values as 'share' and 'not share' but writes
// 'Share' in its text: any case is taken.
func TestJoinPresencePreference(t *testing.T) {
	form := func(value string) []byte {
		return []byte(`<join xmlns="urn:xmpp:mix:core:1"><x xmlns="jabber:x:data" type="submit">` +
			`<field var="FORM_TYPE" type="hidden"><value>urn:xmpp:mix:anon:0</value></field>` +
			`<field var="Presence"><value>` + value + `</value></field></x></join>`)
	}
	for _, tc := range []struct {
		value        string
		share, found bool
	}{
		{value: "share", share: true, found: true},
		{value: "Share", share: true, found: true},
		{value: "SHARE", share: true, found: true},
		{value: "not share", share: false, found: true},
		{value: "Not Share", share: false, found: true},
		{value: "NOT SHARE", share: false, found: true},
		{value: "notshare"},
		{value: "share "},
		{value: ""},
	} {
		t.Run(tc.value, func(t *testing.T) {
			share, found := joinPresencePreference(form(tc.value))
			require.Equal(t, tc.found, found)
			require.Equal(t, tc.share, share)
		})
	}
}

// FuzzJoinAnswer feeds channel answers to everything that reads them. The
// parts forwarded to the client must be well-formed and of the right kind;
// nothing may panic.
func FuzzJoinAnswer(f *testing.F) {
	for _, seed := range []string{
		xep0405Listing6, xep0405Listing10, xep0369JoinResult, xep0404JoinResult,
		testErrorSeveral, testErrorWithEchoed,
	} {
		f.Add([]byte(seed))
	}
	req := &joinRequest{client: testClientA, user: testUser, channel: testChannel, id: "fuzz"}
	f.Fuzz(func(t *testing.T, raw []byte) {
		payload, err := testResponsePayload(raw)
		if err != nil {
			return
		}
		for _, want := range []xml.Name{mixJoinName, mixLeaveName} {
			start, command, ok := joinResultCommand(payload, want)
			if !ok {
				continue
			}
			require.Equal(t, want, start.Name)
			requireOneElement(t, command, want)
			pid := joinParticipantID(start, testChannel)
			require.False(t, strings.ContainsAny(pid, "#/@"), pid)
			joinSharesPresence(command, command)
			requireOneElement(t, joinAppendResult(nil, req, command), xml.Name{Local: "iq"})
		}
		if errElem, ok := joinChannelError(payload); ok {
			requireOneElement(t, errElem, xml.Name{Local: "error"})
			answer := joinAppendRawError(nil, req, errElem)
			requireOneElement(t, answer, xml.Name{Local: "iq"})
			se, err := stanza.UnmarshalError(xml.NewDecoder(bytes.NewReader(errElem)))
			require.NoError(t, err)
			require.NotEmpty(t, se.Type)
		}
	})
}

// requireOneElement checks that raw is exactly one well-formed element
// named name.
func requireOneElement(t *testing.T, raw []byte, name xml.Name) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	require.NoError(t, err, "%s", raw)
	start, ok := tok.(xml.StartElement)
	require.True(t, ok, "%s", raw)
	require.Equal(t, name, start.Name, "%s", raw)
	require.NoError(t, dec.Skip(), "%s", raw)
	_, err = dec.Token()
	require.ErrorIs(t, err, io.EOF, "%s", raw)
}
