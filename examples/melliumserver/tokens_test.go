package main

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzCollect checks what the server does with every stanza it keeps: the
// tokens collect returns, written by an Encoder as mellium writes them,
// are well-formed XML with the same elements in the same namespaces, and
// nothing panics, whatever the decoder was fed.
func FuzzCollect(f *testing.F) {
	for _, seed := range []string{
		`<message xmlns="jabber:client" type="groupchat" to="alice@localhost"><body>Harpier cries</body><mix xmlns="urn:xmpp:mix:core:1"><nick>hecate</nick></mix></message>`,
		`<message xmlns="jabber:client"><result xmlns="urn:xmpp:mam:2" id="1"><forwarded xmlns="urn:xmpp:forward:0"><message xmlns="jabber:client" type="groupchat"><body>x</body></message></forwarded></result></message>`,
		`<iq xmlns="jabber:component:accept" type="result" id="j1"><join xmlns="urn:xmpp:mix:core:1" id="123456"/></iq>`,
		`<presence xmlns="jabber:client" xml:lang="en"><x:c xmlns:x="http://jabber.org/protocol/caps" node="n" ver="v" hash="sha-1"/><priority>-1</priority></presence>`,
		`<iq xmlns="jabber:client" type="set" id="b"><block xmlns="urn:xmpp:blocking"><item jid="1#coven@mix.localhost"/></block></iq><!-- c --><?pi x?>`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		want, err := collect(xml.NewDecoder(strings.NewReader(in)))
		if err != nil || len(want) == 0 {
			return
		}
		var b bytes.Buffer
		e := xml.NewEncoder(&b)
		for _, tok := range want {
			if tok != nil {
				if err := e.EncodeToken(tok); err != nil {
					return // the Encoder refuses what it cannot write (an unbalanced end, a bad name)
				}
			}
		}
		if e.Flush() != nil || e.Close() != nil {
			return
		}
		got, err := collect(xml.NewDecoder(&b))
		require.NoError(t, err, "not well-formed: %s", b.String())
		require.Equal(t, names(want), names(got), "%s", b.String())
	})
}

// names lists the elements of toks with their namespaces.
func names(toks []xml.Token) []xml.Name {
	var out []xml.Name
	for _, tok := range toks {
		if s, ok := tok.(xml.StartElement); ok {
			out = append(out, s.Name)
		}
	}
	return out
}

// TestPriority reads a presence's priority (RFC 6121 §4.7.2.3).
func TestPriority(t *testing.T) {
	for _, tc := range []struct {
		presence string
		want     int8
	}{
		{`<show>away</show>`, 0},
		{`<priority>5</priority>`, 5},
		{`<priority> -1 </priority>`, -1},
		{`<priority>300</priority>`, 0},
		{`<priority>x</priority>`, 0},
		{`<priority/>`, 0},
	} {
		toks, err := collect(xml.NewDecoder(strings.NewReader(tc.presence)))
		require.NoError(t, err)
		require.Equal(t, tc.want, priority(toks), tc.presence)
	}
}
