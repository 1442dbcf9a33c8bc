package xmltree_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/internal/xmltree"
)

func TestEvents(t *testing.T) {
	tests := []struct {
		name, raw string
		want      []string
		top       int
	}{
		{"attributes sorted, declarations left out",
			`<message xmlns="jabber:client" type="chat" id="1"><body>a</body></message>`,
			[]string{`<{jabber:client}message`, `@{}id="1"`, `@{}type="chat"`, `<{jabber:client}body`, `text "a"`, `/`, `/`}, 1},
		{"scope is the default namespace", `<iq/>`, []string{`<{jabber:client}iq`, `/`}, 1},
		{"two top-level elements", `<a/><b xmlns="urn:x"/>`, []string{`<{jabber:client}a`, `/`, `<{urn:x}b`, `/`}, 2},
		{"text merged", `<a>x<![CDATA[y]]>z</a>`, []string{`<{jabber:client}a`, `text "xyz"`, `/`}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, top, err := xmltree.Events([]byte(tc.raw), "jabber:client")
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.top, top)
		})
	}
}

func TestEventsRejects(t *testing.T) {
	for _, raw := range []string{
		`<a id="1" id="2"/>`,
		`<a xmlns:p="urn:x" xmlns:q="urn:x" p:id="1" p:id="2"/>`,
		`<a xmlns:p="urn:x"><p:0/></a>`,
		`<a><!-- comment --></a>`,
		`<a>`,
	} {
		_, _, err := xmltree.Events([]byte(raw), "jabber:client")
		require.Error(t, err, raw)
	}
}
