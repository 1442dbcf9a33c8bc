package wire_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"testing"

	"github.com/mixpam/mixpam/examples/memserver/internal/wire"
	"github.com/mixpam/mixpam/host"
)

// FuzzReader feeds arbitrary bytes to a stream reader: it must never panic
// or hang, and every element it returns must serialise as well-formed XML.
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		header + `<message to='a@b' type='chat'><body>hi</body></message></stream:stream>`,
		header + `<iq type='set' id='E6E10350'><client-join xmlns='urn:xmpp:mix:pam:2' channel='coven@mix.shakespeare.example'><join xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:messages'/></join></client-join></iq>`,
		header + ` <presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v'/></presence>`,
		header + `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>biwsbj11c2VyLHI9ZnlrbytkMmxiYkZnT05Sdjl4a3hkYXdM</auth>`,
		header + `<!-- c --><a:b xmlns:a='x'/>`,
		header + `<message><a><b><c><d><e><f><g><h/></g></f></e></d></c></b></a></message>`,
		header + `<message a='1' b="2" c='=' d="'"><body><![CDATA[<x y='z'>]]]></body></message>`,
		`<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e 'e'>]><stream:stream>`,
		"\x00\xff<",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := wire.Limits{Bytes: 512, Depth: 8, Tokens: 64}
		r := wire.NewReader(bytes.NewReader(data), lim)
		if _, err := r.Header(); err != nil {
			return
		}
		for range 100 {
			el, err := r.Next()
			if err != nil {
				return
			}
			if _, err := host.AppendStanza(nil, el.Tokens()); err != nil {
				t.Fatalf("element does not serialise: %v", err)
			}
			checkLimits(t, el, lim)
		}
	})
}

// FuzzLimits compares a reader with a small token limit, which counts a
// tag's attributes with its own byte lexer before the decoder builds the
// tag, against one with no practical limit: every element the second
// returns must pass the first exactly when its tokens fit, else be
// refused with policy-violation. The lexer may neither refuse a valid
// element nor let an oversized tag through.
func FuzzLimits(f *testing.F) {
	for _, s := range []string{
		`<message a='1' b="2"><body>x</body></message>`,
		`<message a='=' b="'='"><x c='>'/></message>`,
		`<message a='==========' b="'='='='='='='"/>`,
		`<message><body><![CDATA[<x a=1 b=2 c=3 d=4 e=5 f=6 g=7 h=8 i=9>]]]></body></message>`,
		`<message><!-- a=1 b=2 c=3 d=4 e=5 f=6 g=7 h=8 i=9 --></message>`,
		`<message a='1' b='2' c='3' d='4' e='5' f='6' g='7'/>`,
		`<iq type='set' id='E6E10350'><client-join xmlns='urn:xmpp:mix:pam:2' channel='coven@mix.shakespeare.example'/></iq>`,
	} {
		f.Add([]byte(s))
	}
	const tokens = 8
	f.Fuzz(func(t *testing.T, data []byte) {
		in := append([]byte(shortHeader), data...)
		small := wire.NewReader(bytes.NewReader(in), wire.Limits{Bytes: 4096, Depth: 64, Tokens: tokens})
		large := wire.NewReader(bytes.NewReader(in), wire.Limits{Bytes: 4096, Depth: 64, Tokens: 1 << 20})
		if _, err := small.Header(); err != nil {
			return
		}
		if _, err := large.Header(); err != nil {
			t.Fatalf("only the small reader read the header")
		}
		for range 20 {
			want, err := large.Next()
			if err != nil {
				return
			}
			got, err := small.Next()
			if countTokens(want) <= tokens {
				if err != nil {
					t.Fatalf("element of %d tokens refused: %v", countTokens(want), err)
				}
				a, _ := host.AppendStanza(nil, want.Tokens())
				b, _ := host.AppendStanza(nil, got.Tokens())
				if !bytes.Equal(a, b) {
					t.Fatalf("got %s, want %s", b, a)
				}
				continue
			}
			var se *wire.Error
			if !errors.As(err, &se) || se.Cond.Err != "policy-violation" {
				t.Fatalf("element of %d tokens not refused: %v", countTokens(want), err)
			}
			return
		}
	})
}

// countTokens counts the tokens of el as Limits does.
func countTokens(el wire.Element) int {
	n := 2 + len(el.Start.Attr) // start and end tags
	for _, tok := range el.Inner {
		n++
		if s, ok := tok.(xml.StartElement); ok {
			n += len(s.Attr)
		}
	}
	return n
}

// checkLimits fails unless el keeps within lim.
func checkLimits(t *testing.T, el wire.Element, lim wire.Limits) {
	t.Helper()
	tokens, depth, deepest := 1+len(el.Start.Attr), 1, 1
	for _, tok := range el.Inner {
		tokens++
		switch tok := tok.(type) {
		case xml.StartElement:
			tokens += len(tok.Attr)
			depth++
			deepest = max(deepest, depth)
		case xml.EndElement:
			depth--
		}
	}
	if deepest > lim.Depth || tokens+1 > lim.Tokens {
		t.Fatalf("element of depth %d and %d tokens passed limits %+v", deepest, tokens+1, lim)
	}
}
