package mixload

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

// Stanzas as servers send them (XEP-0405 Listing 1 and 2, XEP-0369 §7.1.6),
// with the quoting, prefixes and markup the splitter must get through.
var serverStanzas = []string{
	`<message from='coven@mix.shakespeare.example/123456' to='hag66@shakespeare.example/UUID-a1j/7533' id='77E07BB0' type='groupchat'><body>Harpier cries: 'tis time, 'tis time.</body><mix xmlns='urn:xmpp:mix:core:1'><nick>thirdwitch</nick><jid>hag66@shakespeare.example</jid></mix></message>`,
	`<iq type="result" id="E6E10350" to="hag66@shakespeare.example/UUID-a1j/7533"><client-join xmlns="urn:xmpp:mix:pam:2"><join xmlns="urn:xmpp:mix:core:1" id="123456"><subscribe node="urn:xmpp:mix:nodes:messages"/></join></client-join></iq>`,
	`<presence from="a@b/c" to='x@y/z'><status>a > b &amp; "c"</status></presence>`,
	`<message id='x' title="a>b" other='c/>'><!-- note --><body><![CDATA[<not a tag>]]></body></message>`,
	`<iq type='get' id='d1' from='localhost'><query xmlns='http://jabber.org/protocol/disco#info' node='n#v'/></iq>`,
}

func TestSplitterCutsStanzas(t *testing.T) {
	stream := "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='1' version='1.0'>"
	for _, s := range serverStanzas {
		stream += s + " \n"
	}
	stream += "</stream:stream>"
	for name, r := range map[string]io.Reader{
		"whole":        bytes.NewReader([]byte(stream)),
		"byte by byte": iotest.OneByteReader(bytes.NewReader([]byte(stream))),
	} {
		t.Run(name, func(t *testing.T) {
			sp := newSplitter(r)
			require.NoError(t, sp.header())
			for _, want := range serverStanzas {
				got, err := sp.next()
				require.NoError(t, err)
				require.Equal(t, want, string(got))
			}
			_, err := sp.next()
			require.ErrorIs(t, err, errStreamEnd)
		})
	}
}

func TestAttrAndText(t *testing.T) {
	el := []byte(serverStanzas[0])
	for _, tc := range []struct{ key, want string }{
		{"from", "coven@mix.shakespeare.example/123456"},
		{"id", "77E07BB0"},
		{"type", "groupchat"},
	} {
		v, ok := attr(el, tc.key)
		require.True(t, ok, tc.key)
		require.Equal(t, tc.want, string(v))
	}
	_, ok := attr(el, "xmlns")
	require.False(t, ok)
	body, ok := text(el, "body")
	require.True(t, ok)
	require.Equal(t, "Harpier cries: 'tis time, 'tis time.", string(body))
	v, ok := attr([]byte(serverStanzas[3]), "other")
	require.True(t, ok)
	require.Equal(t, "c/>", string(v))
	require.Equal(t, "stream:features", string(name([]byte(`<stream:features><bind/></stream:features>`))))
}

func TestSplitterRefusesTextBetweenStanzas(t *testing.T) {
	sp := newSplitter(bytes.NewReader([]byte("hello <message/>")))
	_, err := sp.next()
	require.ErrorIs(t, err, errMalformed)
}

func TestSplitterBoundsElements(t *testing.T) {
	big := append([]byte("<message><body>"), bytes.Repeat([]byte("a"), maxElement+10)...)
	sp := newSplitter(bytes.NewReader(big))
	_, err := sp.next()
	require.Error(t, err)
	require.False(t, errors.Is(err, io.EOF))
}

// FuzzSplitter feeds the splitter arbitrary server bytes: it never panics,
// never returns more bytes than it read, and every element it returns
// starts with '<'.
func FuzzSplitter(f *testing.F) {
	for _, s := range serverStanzas {
		f.Add([]byte(s))
	}
	f.Add([]byte("<a><b></a>"))
	f.Add([]byte("<a x='>"))
	f.Add([]byte("</stream:stream>"))
	f.Fuzz(func(t *testing.T, in []byte) {
		sp := newSplitter(bytes.NewReader(in))
		total := 0
		for range 1000 {
			el, err := sp.next()
			if err != nil {
				return
			}
			total += len(el)
			require.LessOrEqual(t, total, len(in))
			require.True(t, len(el) > 0 && el[0] == '<', "%q", el)
			_, _ = attr(el, "id")
			_, _ = text(el, "body")
		}
	})
}
