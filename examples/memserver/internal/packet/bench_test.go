package packet_test

import (
	"testing"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
)

// routedMessage is a channel message as the built-in MIX service routes it
// to a participant's bare JID.
const routedMessage = `<message to="load17@localhost" from="c3@mix.localhost/5e2a1c9b" id="1733234567-42" type="groupchat">` +
	`<body>run=b2855e95 ch=3 seq=42 from=load5 t=123456789</body>` +
	`<stanza-id xmlns="urn:xmpp:sid:0" id="1733234567-42" by="c3@mix.localhost"/>` +
	`<mix xmlns="urn:xmpp:mix:core:1"><nick>load5</nick><jid>load5@localhost</jid></mix></message>`

// BenchmarkParse compares reading a routed stanza's start tag with Parse
// (an XML decoder, two jid.Parse) and with a Parser (no decoder, JIDs
// cached) against copying the stanza, which the router does anyway.
func BenchmarkParse(b *testing.B) {
	raw := []byte(routedMessage)
	b.Run("Parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := packet.Parse(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Parser", func(b *testing.B) {
		var ps packet.Parser
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ps.Parse(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline-bytecopy", func(b *testing.B) {
		buf := make([]byte, 0, 1024)
		b.ReportAllocs()
		for b.Loop() {
			buf = append(buf[:0], raw...)
		}
	})
}
