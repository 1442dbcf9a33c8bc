package pam

import (
	"context"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"
)

// fanOutStream is the read side of a mellium handler's stream; nothing is
// written to it.
type fanOutStream struct{ xml.TokenReader }

func (fanOutStream) EncodeToken(xml.Token) error               { panic("not used") }
func (fanOutStream) Encode(any) error                          { panic("not used") }
func (fanOutStream) EncodeElement(any, xml.StartElement) error { panic("not used") }

func TestFanOutHandler(t *testing.T) {
	e := newFanOutEnv(t)
	c := e.online("UUID-x4r/2491", true)
	var passed []string
	record := func(typ string) mux.Option {
		return mux.MessageFunc(stanza.MessageType(typ), xml.Name{}, func(msg stanza.Message, _ xmlstream.TokenReadEncoder) error {
			passed = append(passed, "message "+string(msg.Type))
			return nil
		})
	}
	next := mux.New(stanza.NSServer, record("chat"), record("groupchat"),
		mux.PresenceFunc("", xml.Name{}, func(stanza.Presence, xmlstream.TokenReadEncoder) error {
			passed = append(passed, "presence")
			return nil
		}))
	h := e.fanOut.Handler(context.Background(), next)
	serve := func(raw string) {
		t.Helper()
		d := xml.NewDecoder(strings.NewReader(raw))
		start := fanOutFirstStart(t, d)
		require.NoError(t, h.HandleXMPP(fanOutStream{xmlstream.InnerElement(d)}, &start))
	}

	serve(fanOutMessage)
	serve(strings.Replace(fanOutMessage, `type="groupchat"`, `type="chat"`, 1))
	serve(strings.Replace(fanOutMessage, "coven@", "spells@", 1))
	serve(`<presence xmlns="jabber:server" from="coven@mix.shakespeare.example/1" to="hecate@shakespeare.example"><show>dnd</show></presence>`)
	require.Len(t, e.router.To(c), 1, "groupchat from the channel delivered once, whatever its children")
	require.Len(t, e.records(), 1)
	// mellium's mux calls a message handler once per child (here: 4).
	require.Equal(t, []string{"message chat", "message chat", "message chat", "message chat", "presence"}, passed,
		"only what the fan-out passes goes on")
	require.Equal(t, FanOutStats{Accepted: 1, Delivered: 1, DroppedNotJoined: 1}, e.fanOut.Stats())
}
