package blocking_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/blocking"
)

// TestHandlerLimits checks that block commands beyond the Limits change
// nothing and get the documented errors, and that a retrieval of a full
// blocklist stays within the documented bound. The blocklist starts with
// romeo@montague.net.
func TestHandlerLimits(t *testing.T) {
	const maxItems, maxItemBytes = 3, 80
	block := func(jids ...string) string {
		var b strings.Builder
		b.WriteString(`<iq from='juliet@capulet.lit/balcony' type='set' id='x'><block xmlns='urn:xmpp:blocking'>`)
		for _, j := range jids {
			fmt.Fprintf(&b, `<item jid='%s'/>`, j)
		}
		b.WriteString(`</block></iq>`)
		return b.String()
	}
	long := "a@example.org/" + strings.Repeat("&amp;", 11) // 14 + 11 bytes, 14 + 55 escaped
	for _, tc := range []struct {
		name      string
		items     []string
		condition stanza.Condition // "" for a result
		after     int              // items held afterwards
	}{
		{"to the limit", []string{"a@example.org", "b@example.org"}, "", 3},
		{"one too many", []string{"a@example.org", "b@example.org", "c@example.org"}, stanza.PolicyViolation, 1},
		{"an item too large", []string{long}, stanza.NotAcceptable, 1},
		{"repeats count once", []string{"a@example.org", "a@example.org", "romeo@montague.net"}, "", 2},
	} {
		for _, counter := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s, Counter %v", tc.name, counter), func(t *testing.T) {
				limits := withLimits(blocking.Limits{MaxItems: maxItems, MaxItemBytes: maxItemBytes})
				e := newEnv(t, nil, nil, limits)
				if !counter {
					e.handler = newHandler(t, struct{ blocking.Store }{e.store}, e.sessions, e.router, limits)
				}
				reply := e.do(t, block(tc.items...))
				if tc.condition == "" {
					require.Contains(t, reply, `type="result"`)
				} else {
					se := stanzaError(t, reply)
					require.Equal(t, tc.condition, se.Condition, reply)
					require.Empty(t, e.pushes())
				}
				require.Len(t, e.items(t), tc.after)
			})
		}
	}

	e := newEnv(t, nil, nil, withLimits(blocking.Limits{MaxItems: maxItems, MaxItemBytes: maxItemBytes}))
	e.do(t, block("a@example.org/"+strings.Repeat("r", 50), "b@example.org/"+strings.Repeat("r", 50)))
	require.Len(t, e.items(t), maxItems)
	reply := e.do(t, `<iq from='juliet@capulet.lit/balcony' type='get' id='g'><blocklist xmlns='urn:xmpp:blocking'/></iq>`)
	require.Equal(t, 3, strings.Count(reply, "<item "))
	require.LessOrEqual(t, len(reply), maxItems*maxItemBytes+6*len("g")+2*3071*6+200)
}
