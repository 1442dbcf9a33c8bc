package xmlenc_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"mellium.im/xmlstream"

	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/ns"
)

// mixMessage is a groupchat message as a channel sends it (XEP-0369 §7.1.6,
// 425 bytes), the stanza the fan-out captures once per message.
const mixMessage = `<message from="coven@mix.shakespeare.example/123456" to="hag66@shakespeare.example" id="77E07BB0-55CF-4BD4-890E-3F7C0E686BBD" type="groupchat"><body>Harpier cries: &apos;tis time, &apos;tis time.</body><mix xmlns="urn:xmpp:mix:core:1"><nick>thirdwitch</nick><jid>hag66@shakespeare.example</jid></mix><stanza-id xmlns="urn:xmpp:sid:0" by="hag66@shakespeare.example" id="7c2f-4e"/></message>`

// BenchmarkAppend measures serialising the tokens of a decoded MIX message,
// next to copying its bytes (the floor) and to a bare xml.Encoder (which is
// not well-formed on decoder tokens, but is what Append replaces).
func BenchmarkAppend(b *testing.B) {
	var toks []xml.Token
	d := xmlstream.Inner(mustStream(mixMessage))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		toks = append(toks, xml.CopyToken(tok))
	}
	b.Run("baseline-bytecopy", func(b *testing.B) {
		dst := make([]byte, 0, 1024)
		b.SetBytes(int64(len(mixMessage)))
		b.ReportAllocs()
		for b.Loop() {
			dst = append(dst[:0], mixMessage...)
		}
	})
	b.Run("baseline-xml.Encoder", func(b *testing.B) {
		var buf bytes.Buffer
		b.SetBytes(int64(len(mixMessage)))
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			enc := xml.NewEncoder(&buf)
			for _, tok := range toks {
				if err := enc.EncodeToken(tok); err != nil {
					b.Fatal(err)
				}
			}
			if err := enc.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("xmlenc", func(b *testing.B) {
		dst := make([]byte, 0, 1024)
		b.SetBytes(int64(len(mixMessage)))
		b.ReportAllocs()
		for b.Loop() {
			var err error
			dst, err = xmlenc.Append(dst[:0], &tokenSlice{toks: toks}, ns.Client)
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

func mustStream(stanza string) *xml.Decoder {
	d := xml.NewDecoder(strings.NewReader(`<stream xmlns="jabber:client">` + stanza + `</stream>`))
	if _, err := d.Token(); err != nil {
		panic(err)
	}
	return d
}
