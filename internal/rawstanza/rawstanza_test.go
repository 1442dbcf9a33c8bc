package rawstanza_test

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/rawstanza"
)

func TestAppendIQStart(t *testing.T) {
	from := jid.MustParse("juliet@example.com")
	to := jid.MustParse("juliet@example.com/balcony")
	for _, tc := range []struct {
		name, id, end, want string
		typ                 stanza.IQType
	}{
		{
			name: "with payload", typ: stanza.ResultIQ, id: "a1", end: "></iq>",
			want: `<iq type="result" id="a1" from="juliet@example.com" to="juliet@example.com/balcony"></iq>`,
		},
		{
			name: "empty", typ: stanza.ResultIQ, id: "a1", end: "/>",
			want: `<iq type="result" id="a1" from="juliet@example.com" to="juliet@example.com/balcony"/>`,
		},
		{
			name: "id escaped", typ: stanza.ErrorIQ, id: `"<&>'` + "\t", end: "/>",
			want: `<iq type="error" id="&quot;&lt;&amp;&gt;'&#x9;" from="juliet@example.com" to="juliet@example.com/balcony"/>`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(rawstanza.AppendIQStart([]byte("x"), tc.typ, tc.id, from, to)) + tc.end
			require.Equal(t, "x"+tc.want, got, "appends to dst")

			var iq stanza.IQ
			require.NoError(t, xml.NewDecoder(strings.NewReader(tc.want)).Decode(&iq))
			require.Equal(t, tc.typ, iq.Type)
			require.Equal(t, tc.id, iq.ID)
			require.True(t, from.Equal(iq.From))
			require.True(t, to.Equal(iq.To))
		})
	}
}
