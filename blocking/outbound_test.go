package blocking_test

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"

	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/ns"
)

// blockedError runs BlockedError on the stanza in raw, with its payload
// when withPayload is set.
func blockedError(t *testing.T, raw string, withPayload bool) string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(raw))
	tok, err := d.Token()
	require.NoError(t, err)
	var payload xml.TokenReader
	if withPayload {
		payload = xmlstream.Inner(d)
	}
	reply := blocking.BlockedError(tok.(xml.StartElement), payload)
	if reply == nil {
		return ""
	}
	out, err := xmlenc.Marshal(reply, ns.Client)
	require.NoError(t, err)
	return string(out)
}

func TestBlockedError(t *testing.T) {
	const errorElement = `<error type="cancel"><not-acceptable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"></not-acceptable>` +
		`<text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">you have blocked this recipient; unblock it to communicate</text>` +
		`<blocked xmlns="urn:xmpp:blocking:errors"></blocked></error>`
	cases := []struct {
		name        string
		stanza      string
		withPayload bool
		want        string
	}{
		{
			name:        "message with its body (XEP-0191 example)",
			stanza:      `<message from='juliet@capulet.com/balcony' to='romeo@montague.net' type='chat' id='m1'><body>Can you hear me now?</body></message>`,
			withPayload: true,
			want:        `<message to="juliet@capulet.com/balcony" from="romeo@montague.net" type="error" id="m1"><body>Can you hear me now?</body>` + errorElement + `</message>`,
		},
		{
			name:   "message without type or payload",
			stanza: `<message from='juliet@capulet.com/balcony' to='123#coven@mix.example'><body>hi</body></message>`,
			want:   `<message to="juliet@capulet.com/balcony" from="123#coven@mix.example" type="error">` + errorElement + `</message>`,
		},
		{
			name:   "presence",
			stanza: `<presence from='juliet@capulet.com/balcony' to='romeo@montague.net' type='subscribe'/>`,
			want:   `<presence to="juliet@capulet.com/balcony" from="romeo@montague.net" type="error">` + errorElement + `</presence>`,
		},
		{
			name:        "iq get",
			stanza:      `<iq from='juliet@capulet.com/balcony' to='romeo@montague.net/orchard' type='get' id='v1'><query xmlns='jabber:iq:version'/></iq>`,
			withPayload: true,
			want:        `<iq to="juliet@capulet.com/balcony" from="romeo@montague.net/orchard" type="error" id="v1"><query xmlns="jabber:iq:version"></query>` + errorElement + `</iq>`,
		},
		{name: "iq result", stanza: `<iq from='juliet@capulet.com/balcony' to='romeo@montague.net/orchard' type='result' id='v2'/>`},
		{name: "iq error", stanza: `<iq from='juliet@capulet.com/balcony' to='romeo@montague.net/orchard' type='error' id='v3'/>`},
		{name: "message error", stanza: `<message from='juliet@capulet.com/balcony' to='romeo@montague.net' type='error'/>`},
		{name: "presence error", stanza: `<presence from='juliet@capulet.com/balcony' to='romeo@montague.net' type='error'/>`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, blockedError(t, c.stanza, c.withPayload))
		})
	}
}
