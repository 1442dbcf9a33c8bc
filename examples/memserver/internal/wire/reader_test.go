package wire_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/stream"

	"github.com/mixpam/mixpam/examples/memserver/internal/wire"
	"github.com/mixpam/mixpam/host"
)

// shortHeader fits in the small limits of the tests.
const shortHeader = `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`

const header = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0' xml:lang='en'>`

func TestHeader(t *testing.T) {
	r := wire.NewReader(strings.NewReader(header), wire.Limits{Bytes: 1024})
	h, err := r.Header()
	require.NoError(t, err)
	require.Equal(t, wire.Header{NS: "jabber:client", To: "localhost", Version: "1.0", Lang: "en"}, h)
}

func TestNext(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input string
		limit int64
		want  []string // serialised elements before the error
		cond  string   // stream error condition, "" for wire.ErrStreamEnd
	}{
		{"stanzas and keepalives", " <message to='a@b'><body>hi</body></message>\n \n<presence/></stream:stream>", 1024,
			[]string{`<message to="a@b"><body>hi</body></message>`, `<presence></presence>`}, ""},
		{"keepalives do not count", strings.Repeat(" ", 5000) + "<presence/></stream:stream>", 100, []string{`<presence></presence>`}, ""},
		{"oversize", "<message><body>" + strings.Repeat("x", 200) + "</body></message>", 100, nil, stream.PolicyViolation.Err},
		{"oversize single token", "<message " + strings.Repeat("a", 200), 100, nil, stream.PolicyViolation.Err},
		{"limit per element", "<presence/><presence/><presence/></stream:stream>", 90, []string{`<presence></presence>`, `<presence></presence>`, `<presence></presence>`}, ""},
		{"malformed", "<message><body></message>", 1024, nil, stream.NotWellFormed.Err},
		{"text", "hello", 1024, nil, stream.NotWellFormed.Err},
		{"comment", "<!-- x -->", 1024, nil, stream.RestrictedXML.Err},
		{"comment inside", "<message><!-- x --></message>", 1024, nil, stream.RestrictedXML.Err},
		{"processing instruction", "<message><?php x?></message>", 1024, nil, stream.RestrictedXML.Err},
		{"duplicate attribute", "<message from='a@b' from='c@d'/>", 1024, nil, stream.NotWellFormed.Err},
		{"duplicate attribute inside", "<message><x xmlns='urn:x' a='1' a='2'/></message>", 1024, nil, stream.NotWellFormed.Err},
		{"duplicate namespaced attribute", "<message xmlns:p='urn:p' xmlns:q='urn:p' p:a='1' q:a='2'/>", 1024, nil, stream.NotWellFormed.Err},
		{"duplicate among many attributes", "<message a0='' a1='' a2='' a3='' a4='' a5='' a6='' a7='' a8='' a9='' a3=''/>", 1024, nil, stream.NotWellFormed.Err},
		{"many distinct attributes", "<message a0='' a1='' a2='' a3='' a4='' a5='' a6='' a7='' a8='' a9=''/></stream:stream>", 1024,
			[]string{`<message a0="" a1="" a2="" a3="" a4="" a5="" a6="" a7="" a8="" a9=""></message>`}, ""},
		{"namespaced child", "<iq type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq></stream:stream>", 1024, []string{`<iq type="get" id="1"><ping xmlns="urn:xmpp:ping"></ping></iq>`}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := wire.NewReader(strings.NewReader(shortHeader+tc.input), wire.Limits{Bytes: tc.limit})
			_, err := r.Header()
			require.NoError(t, err)
			var got []string
			for {
				el, err := r.Next()
				if err != nil {
					var se *wire.Error
					if tc.cond == "" {
						require.ErrorIs(t, err, wire.ErrStreamEnd)
					} else {
						require.True(t, errors.As(err, &se), "%v", err)
						require.Equal(t, tc.cond, se.Cond.Err)
					}
					break
				}
				b, err := host.AppendStanza(nil, el.Tokens())
				require.NoError(t, err)
				got = append(got, string(b))
			}
			require.Equal(t, tc.want, got)
		})
	}
}
