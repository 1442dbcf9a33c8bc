package host_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/mixpam/mixpam/host"
)

// mixMessage is a groupchat message as the fan-out delivers it (XEP-0405
// Listing 2 with the archive's stanza-id).
const mixMessage = `<message from="coven@mix.shakespeare.example/123456" to="hecate@shakespeare.example/UUID-x4r/2491" id="77E07BB0-55CF-4BD4-890E-3F7C0E686BB0" type="groupchat"><body>Harpier cries: &apos;tis time, &apos;tis time.</body><mix xmlns="urn:xmpp:mix:core:1"><nick>thirdwitch</nick><jid>hag66@shakespeare.example</jid></mix><stanza-id xmlns="urn:xmpp:sid:0" by="hecate@shakespeare.example" id="AAAAAAAAAAAAAAAAAAAAAAAA"/></message>`

// replay yields tokens decoded once, as a host's Router.Route gets them.
type replay struct {
	toks []xml.Token
	i    int
}

func (r *replay) Token() (xml.Token, error) {
	if r.i == len(r.toks) {
		return nil, io.EOF
	}
	r.i++
	return r.toks[r.i-1], nil
}

// BenchmarkDeliveryCurrency compares the two ways a stanza reaches the
// host's socket buffer: as bytes (RawRouter.RouteRaw, the host appends
// them: a byte copy, the baseline), and as tokens (Router.Route) that the
// host serialises with AppendStanza, or with encoding/xml's Encoder (which
// writes every xmlns twice: not well-formed, measured for its cost only).
func BenchmarkDeliveryCurrency(b *testing.B) {
	d := xml.NewDecoder(strings.NewReader(mixMessage))
	var toks []xml.Token
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		toks = append(toks, xml.CopyToken(tok))
	}
	raw := []byte(mixMessage)
	b.Run("baseline-bytecopy", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 1024)
		for b.Loop() {
			buf = append(buf[:0], raw...)
		}
	})
	b.Run("tokens-AppendStanza", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 1024)
		for b.Loop() {
			var err error
			buf, err = host.AppendStanza(buf[:0], &replay{toks: toks})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tokens-encoding-xml", func(b *testing.B) {
		b.ReportAllocs()
		var out bytes.Buffer
		for b.Loop() {
			out.Reset()
			e := xml.NewEncoder(&out)
			r := &replay{toks: toks}
			for {
				tok, err := r.Token()
				if err != nil {
					break
				}
				if err := e.EncodeToken(tok); err != nil {
					b.Fatal(err)
				}
			}
			if err := e.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
