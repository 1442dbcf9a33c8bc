package wire_test

import (
	"bytes"
	"encoding/xml"
	"testing"

	"github.com/mixpam/mixpam/examples/memserver/internal/wire"
	"github.com/mixpam/mixpam/internal/ns"
	"github.com/mixpam/mixpam/internal/xmlenc"
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
			if _, err := xmlenc.Marshal(el.Tokens(), ns.Client); err != nil {
				t.Fatalf("element does not serialise: %v", err)
			}
			checkLimits(t, el, lim)
		}
	})
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
