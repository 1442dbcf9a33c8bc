package disco_test

import (
	"encoding/xml"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"
	"mellium.im/xmpp/disco/info"

	"github.com/mixpam/mixpam/disco"
)

func TestParseInfo(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want disco.Info
	}{{
		name: "XEP-0115 §5.3",
		in:   xep0115Complex,
		want: disco.Info{
			Node: "http://psi-im.org#q07IKJEyjvHSyhy//CH0CxmKi8w=",
			Identities: []info.Identity{
				{Category: "client", Type: "pc", Name: "Psi 0.11", Lang: "en"},
				{Category: "client", Type: "pc", Name: "Ψ 0.11", Lang: "el"},
			},
			Features: []string{
				"http://jabber.org/protocol/caps",
				"http://jabber.org/protocol/disco#info",
				"http://jabber.org/protocol/disco#items",
				"http://jabber.org/protocol/muc",
			},
			Forms: []disco.Form{{Fields: []disco.Field{
				{Var: "FORM_TYPE", Type: "hidden", Values: []string{"urn:xmpp:dataforms:softwareinfo"}},
				{Var: "ip_version", Type: "text-multi", Values: []string{"ipv4", "ipv6"}},
				{Var: "os", Values: []string{"Mac"}},
				{Var: "os_version", Values: []string{"10.5.1"}},
				{Var: "software", Values: []string{"Psi"}},
				{Var: "software_version", Values: []string{"0.11"}},
			}}},
		},
	}, {
		name: "XEP-0030 §3.1 bare JID answer",
		in: `<query xmlns='http://jabber.org/protocol/disco#info'>
    <identity category='account' type='registered'/>
    <feature var='http://jabber.org/protocol/disco#info'/>
  </query>`,
		want: disco.Info{
			Identities: []info.Identity{{Category: "account", Type: "registered"}},
			Features:   []string{"http://jabber.org/protocol/disco#info"},
		},
	}, {
		name: "unknown and foreign children skipped, value text split by a child",
		in: `<query xmlns='http://jabber.org/protocol/disco#info'>` +
			`<unknown><feature var='nested, ignored'/></unknown>` +
			`<feature xmlns='urn:other' var='foreign, ignored'/>` +
			`<feature var='a'><child/></feature>` +
			`<x xmlns='jabber:x:data'><title>t</title><field var='f'><desc>d</desc><value>v<b>x</b>w</value></field></x>` +
			`</query><after/>`,
		want: disco.Info{
			Features: []string{"a"},
			Forms:    []disco.Form{{Fields: []disco.Field{{Var: "f", Values: []string{"vw"}}}}},
		},
	}, {
		name: "empty query",
		in:   `<query xmlns='http://jabber.org/protocol/disco#info'/>`,
		want: disco.Info{},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := disco.ParseInfo(tokensOf(tc.in))
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseInfoErrors(t *testing.T) {
	const complete = `<query xmlns='http://jabber.org/protocol/disco#info'>` +
		`<feature var='a'/><x xmlns='jabber:x:data'><field var='a'><value>v</value></field></x></query>`
	for _, tc := range []struct {
		name string
		in   xml.TokenReader
		want error // nil: any error
	}{
		{"empty", tokensOf(""), disco.ErrNoQuery},
		{"whitespace", tokensOf("  \n"), disco.ErrNoQuery},
		{"other element", tokensOf(`<query xmlns='http://jabber.org/protocol/disco#items'/>`), disco.ErrNoQuery},
		{"stray end", tokensOf(`</query>`), nil},
		{"truncated document", tokensOf(`<query xmlns='http://jabber.org/protocol/disco#info'><feature var='a'/>`), nil},
		{"mismatched end", tokensOf(`<query xmlns='http://jabber.org/protocol/disco#info'><feature></identity></query>`), nil},
		// A reader that ends cleanly inside the query, as xmlstream.Inner
		// does at the end of the IQ.
		{"ends in feature", xmlstream.LimitReader(tokensOf(complete), 2), io.ErrUnexpectedEOF},
		{"ends after feature", xmlstream.LimitReader(tokensOf(complete), 3), io.ErrUnexpectedEOF},
		{"ends in form", xmlstream.LimitReader(tokensOf(complete), 4), io.ErrUnexpectedEOF},
		{"ends in field", xmlstream.LimitReader(tokensOf(complete), 5), io.ErrUnexpectedEOF},
		{"ends in value", xmlstream.LimitReader(tokensOf(complete), 7), io.ErrUnexpectedEOF},
		{"reader without progress", xmlstream.ReaderFunc(func() (xml.Token, error) { return nil, nil }), io.ErrNoProgress},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := disco.ParseInfo(tc.in)
			require.Error(t, err)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
			}
		})
	}
}

func TestInfoMIXCapable(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want bool
	}{
		{"XEP-0369 §6.7 MIX client", xep0369Client, true},
		{"XEP-0115 §5.3 client without MIX", xep0115Complex, false},
		{"MIX feature as identity name only", `<query xmlns='http://jabber.org/protocol/disco#info'><identity category='client' type='pc' name='urn:xmpp:mix:core:1'/></query>`, false},
		{"older MIX namespace", `<query xmlns='http://jabber.org/protocol/disco#info'><feature var='urn:xmpp:mix:core:0'/></query>`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inf, err := disco.ParseInfo(tokensOf(tc.in))
			require.NoError(t, err)
			require.Equal(t, tc.want, inf.MIXCapable())
		})
	}
}
