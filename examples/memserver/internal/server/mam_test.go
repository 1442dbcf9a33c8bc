package server_test

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/examples/memserver/internal/testclient"
)

// stanzaIDByAlice finds the archive id alice's server gave a message.
var stanzaIDByAlice = regexp.MustCompile(`<stanza-id xmlns="urn:xmpp:sid:0" by="alice@localhost" id="([^"]+)"`)

// resultID finds the archive id of a MAM result message.
var resultID = regexp.MustCompile(`<result xmlns="urn:xmpp:mam:2"[^>]* id="([^"]+)"`)

// mamQuery is a MAM query with the given form fields and extra children.
func mamQuery(id, fields, extra string) string {
	return `<iq type="set" id="` + id + `"><query xmlns="urn:xmpp:mam:2" queryid="` + id + `">` +
		`<x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE" type="hidden"><value>urn:xmpp:mam:2</value></field>` +
		fields + `</x>` + extra + `</query></iq>`
}

// TestArchiveExtended queries alice's archive as a client does, with what
// urn:xmpp:mam:2#extended and include-groupchat offer (XEP-0313 §4.1.3,
// §4.1.4, §4.3.3, §6), after discovering them on the account.
func TestArchiveExtended(t *testing.T) {
	srv, _ := startMIX(t)
	alice := login(t, srv, "alice", true, "mix")
	bob := login(t, srv, "bob", true, "mix")

	alice.Send(t, `<iq type="get" id="d1" to="alice@localhost"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`)
	info := raw(alice.Expect(t, "disco#info result", testclient.ByID("d1")))
	for _, f := range []string{"urn:xmpp:mam:2", "urn:xmpp:mam:2#extended", "urn:xmpp:mam:2#groupchat-field", "urn:xmpp:mam:2#groupchat-available"} {
		require.Contains(t, info, `var="`+f+`"`)
	}

	require.Equal(t, "result", join(t, alice, "j1", coven).Type)
	require.Equal(t, "result", join(t, bob, "j2", coven).Type)
	var ids []string
	for _, body := range []string{"one", "two", "three"} {
		bob.Send(t, `<message type="groupchat" to="`+coven+`"><body>`+body+`</body></message>`)
		m := alice.Expect(t, "groupchat "+body, testclient.Contains(packet.Message, "<body>"+body+"</body>"))
		id := stanzaIDByAlice.FindStringSubmatch(raw(m))
		require.NotNil(t, id, raw(m))
		ids = append(ids, id[1])
	}

	// results sends a query and returns the ids of its results, in the
	// order they came, and its answer.
	results := func(id, query string) ([]string, string) {
		t.Helper()
		alice.Send(t, query)
		var got []string
		for {
			p := alice.Expect(t, "MAM result or answer", func(p packet.Packet) bool {
				return p.ID == id || p.Kind == packet.Message && resultID.MatchString(raw(p))
			})
			if p.Kind == packet.IQ {
				return got, raw(p)
			}
			got = append(got, resultID.FindStringSubmatch(raw(p))[1])
		}
	}

	tests := []struct {
		name   string
		query  string
		want   []string
		answer []string
	}{
		{"one by id", mamQuery("q1", `<field var="ids"><value>`+ids[1]+`</value></field>`, ""), ids[1:2], []string{`complete="true"`, "<count>1</count>"}},
		{"after-id, flipped", mamQuery("q2", `<field var="after-id"><value>`+ids[0]+`</value></field>`, `<flip-page/>`), []string{ids[2], ids[1]}, []string{"<count>2</count>", "<first index=\"0\">" + ids[1] + "</first>"}},
		{"between ids", mamQuery("q3", `<field var="after-id"><value>`+ids[0]+`</value></field><field var="before-id"><value>`+ids[2]+`</value></field>`, ""), ids[1:2], []string{"<count>1</count>"}},
		{"with groupchat", mamQuery("q4", `<field var="include-groupchat"><value>true</value></field>`, ""), ids, []string{"<count>3</count>"}},
		{"without groupchat", mamQuery("q5", `<field var="include-groupchat"><value>false</value></field>`, ""), nil, []string{`complete="true"`, "<count>0</count>"}},
		{"unknown id", mamQuery("q6", `<field var="ids"><value>nope</value></field>`, ""), nil, []string{`type="error"`, "<item-not-found"}},
		{"metadata", `<iq type="get" id="q7"><metadata xmlns="urn:xmpp:mam:2"/></iq>`, nil, []string{`<start id="` + ids[0] + `"`, `<end id="` + ids[2] + `"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := regexp.MustCompile(`id="(q\d)"`).FindStringSubmatch(tc.query)[1]
			got, answer := results(id, tc.query)
			require.Equal(t, tc.want, got)
			for _, a := range tc.answer {
				require.Contains(t, answer, a)
			}
		})
	}
}
