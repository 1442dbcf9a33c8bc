package host_test

import (
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/host"
)

func TestAppendEscaped(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		attr     bool
		want     string
	}{
		{"markup in text", `a<b>&"c"`, false, `a&lt;b&gt;&amp;"c"`},
		{"quotes and whitespace in an attribute", "o'\"x\"\t\n\r", true, "o'&quot;x&quot;&#x9;&#xA;&#xD;"},
		{"characters XML cannot carry", "a\x00b\xffc\uFFFE", false, "a\uFFFDb\uFFFDc\uFFFD"},
		{"nothing to escape", "juliet@capulet.lit/balcony", true, "juliet@capulet.lit/balcony"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := host.AppendEscaped([]byte("<"), tc.in, tc.attr)
			require.Equal(t, "<"+tc.want, string(got), "appended after what dst held")
			doc := `<e>` + tc.want + `</e>`
			if tc.attr {
				doc = `<e a="` + tc.want + `"/>`
			}
			var e struct {
				A    string `xml:"a,attr"`
				Text string `xml:",chardata"`
			}
			require.NoError(t, xml.Unmarshal([]byte(doc), &e))
			if tc.attr {
				require.Equal(t, tc.in, e.A, "an attribute reads back as it was")
			}
		})
	}
}
