package packet_test

import (
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		want      packet.Packet
		err       bool
	}{
		{"message", `<message type="groupchat" id="m1" from="coven@mix.example/1" to="hag66@example"><body>x</body></message>`,
			packet.Packet{Kind: packet.Message, Type: "groupchat", ID: "m1", From: jid.MustParse("coven@mix.example/1"), To: jid.MustParse("hag66@example")}, false},
		{"iq in client namespace", `<iq xmlns="jabber:client" type="get" id="1"/>`, packet.Packet{Kind: packet.IQ, Type: "get", ID: "1"}, false},
		{"presence in component namespace", `<presence xmlns="jabber:component:accept"/>`, packet.Packet{Kind: packet.Presence}, false},
		{"not a stanza", `<query xmlns="jabber:iq:roster"/>`, packet.Packet{}, true},
		{"foreign namespace", `<message xmlns="urn:example"/>`, packet.Packet{}, true},
		{"bad to", `<message to="a@b@c"/>`, packet.Packet{Kind: packet.Message}, true},
		{"not XML", `hello`, packet.Packet{}, true},
		{"references", `<message type='g&#114;oupchat' id="a&amp;b" from="coven&#64;mix.example/1"/>`,
			packet.Packet{Kind: packet.Message, Type: "groupchat", ID: "a&b", From: jid.MustParse("coven@mix.example/1")}, false},
		{"repeated attribute: the last wins", `<message id="1" id="2" type="chat" xml:lang="en"/>`, packet.Packet{Kind: packet.Message, Type: "chat", ID: "2"}, false},
		{"bad from", `<presence from="@x"/>`, packet.Packet{Kind: packet.Presence}, true},
		{"bad from, twice", `<presence from="@x"/>`, packet.Packet{Kind: packet.Presence}, true},
		{"cached from", `<iq type="set" id="1" from="coven@mix.example/1"/>`, packet.Packet{Kind: packet.IQ, Type: "set", ID: "1", From: jid.MustParse("coven@mix.example/1")}, false},
		{"prefixed", `<x:message xmlns:x="jabber:client" id="1"/>`, packet.Packet{Kind: packet.Message, ID: "1"}, false},
	} {
		// The same Parser throughout, so that later cases hit its cache.
		var parser packet.Parser
		for _, parse := range []struct {
			name string
			fn   func([]byte) (packet.Packet, error)
		}{{"Parse", packet.Parse}, {"Parser", parser.Parse}} {
			t.Run(tc.name+"/"+parse.name, func(t *testing.T) {
				p, err := parse.fn([]byte(tc.raw))
				if tc.err {
					require.Error(t, err)
				} else {
					require.NoError(t, err)
					require.Equal(t, tc.raw, string(p.Raw))
				}
				require.Equal(t, tc.want.Kind, p.Kind)
				require.Equal(t, tc.want.Type, p.Type)
				require.Equal(t, tc.want.ID, p.ID)
				require.True(t, tc.want.From.Equal(p.From), p.From)
				require.True(t, tc.want.To.Equal(p.To), p.To)
			})
		}
	}
}

// FuzzParser: a Parser reads every stanza as Parse does.
func FuzzParser(f *testing.F) {
	for _, s := range []string{
		`<message from='coven@mix.shakespeare.example/123456' to='hecate@shakespeare.example' id='77E07BB0' type='groupchat'><body>Harpier cries</body></message>`,
		`<iq type="result" from="coven@mix.shakespeare.example" to="hag66@shakespeare.example" id="E6E10350"/>`,
		`<presence xmlns="jabber:client" from="a&#64;b"/>`,
	} {
		f.Add([]byte(s))
	}
	var parser packet.Parser
	f.Fuzz(func(t *testing.T, raw []byte) {
		want, wantErr := packet.Parse(raw)
		for range 2 { // parsed, then cached
			got, err := parser.Parse(raw)
			if (err != nil) != (wantErr != nil) || got.Kind != want.Kind || got.Type != want.Type || got.ID != want.ID ||
				!got.From.Equal(want.From) || !got.To.Equal(want.To) {
				t.Fatalf("Parser: %+v, %v; Parse: %+v, %v", got, err, want, wantErr)
			}
		}
	})
}

func TestErrorReply(t *testing.T) {
	server := jid.MustParse("example")
	for _, tc := range []struct {
		name, raw string
		want      string
	}{
		{"iq get", `<iq type="get" id="q1" from="a@example/r" to="b@example"><query xmlns="urn:x"/></iq>`,
			`<iq type="error" to="a@example/r" from="b@example" id="q1"><error type="cancel"><service-unavailable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"></service-unavailable><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">gone</text></error></iq>`},
		{"message without to", `<message id="m1" from="a@example/r"/>`,
			`<message type="error" to="a@example/r" from="example" id="m1"><error type="cancel"><service-unavailable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"></service-unavailable><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">gone</text></error></message>`},
		{"error is not answered", `<message type="error" id="m1" from="a@example/r"/>`, ""},
		{"result is not answered", `<iq type="result" id="q1" from="a@example/r"/>`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := packet.Parse([]byte(tc.raw))
			require.NoError(t, err)
			reply, ok := packet.ErrorReply(p, server, packet.Err(stanza.ServiceUnavailable, "gone"))
			require.Equal(t, tc.want != "", ok)
			require.Equal(t, tc.want, string(reply.Raw))
		})
	}
}

func TestRewrite(t *testing.T) {
	p, err := packet.Parse([]byte(`<presence from="a@example/r" to="b@example"><show>away</show><c xmlns="http://jabber.org/protocol/caps" ver="v"/></presence>`))
	require.NoError(t, err)
	out, err := p.Rewrite(func(s *xml.StartElement) { packet.SetAttr(s, "to", "c@example") })
	require.NoError(t, err)
	require.Equal(t, `<presence from="a@example/r" to="c@example"><show>away</show><c xmlns="http://jabber.org/protocol/caps" ver="v"></c></presence>`, string(out.Raw))
	require.Equal(t, "c@example", out.To.String())
}

// FuzzParse reads arbitrary bytes as a routed stanza: no panic, and what
// parses can be answered and rewritten.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`<message from='coven@mix.shakespeare.example/123456' to='hecate@shakespeare.example' id='77E07BB0' type='groupchat'><body>Harpier cries</body><mix xmlns='urn:xmpp:mix:core:1'><nick>thirdwitch</nick><jid>hag66@shakespeare.example</jid></mix></message>`,
		`<iq type='result' from='coven@mix.shakespeare.example' to='hag66@shakespeare.example' id='E6E10350'><join xmlns='urn:xmpp:mix:core:1' jid='123456#coven@mix.shakespeare.example'/></iq>`,
		`<presence from='123435#coven@mix.shakespeare.example/678' to='hecate@shakespeare.example'><show>dnd</show></presence>`,
		`<iq type='get' id='x'/>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := packet.Parse(raw)
		if err != nil {
			return
		}
		packet.ErrorReply(p, jid.MustParse("example"), packet.Err(stanza.BadRequest, "x"))
		_, _ = p.Rewrite(func(s *xml.StartElement) { packet.SetAttr(s, "to", "a@example") })
		r := p.Payload()
		for range 10000 {
			if _, err := r.Token(); err != nil {
				return
			}
		}
	})
}
