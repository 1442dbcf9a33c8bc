package main

import (
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLogin: PLAIN over STARTTLS with the account's password binds; a
// wrong password, or a component with a wrong secret, is refused.
func TestLogin(t *testing.T) {
	c2s, comp := testServer(t)
	for _, tc := range []struct {
		name    string
		connect func() (*remote, error)
		ok      bool
	}{
		{"client, right password", func() (*remote, error) { return login(t, c2s, "pa") }, true},
		{"client, wrong password", func() (*remote, error) { return login(t, c2s, "nope") }, false},
		{"component, wrong secret", func() (*remote, error) { return connectComponent(t, comp, "nope") }, false},
		{"component, right secret", func() (*remote, error) { return connectComponent(t, comp, "s3") }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.connect()
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
}

// TestChannelThroughServer drives the server as a client and a channel
// see it: an IQ forwarded to the channel gets the channel's answer only
// (not a service-unavailable of mellium's Serve); the client's MIX
// capability is learnt from its disco#info; a client-join waits for the
// channel without blocking the client's stream, then the roster push and
// the answer arrive (XEP-0405 §2.7, §2.9); channel groupchat reaches the
// client with the user's stanza-id and is in the user's archive (§2.2,
// §2.11).
func TestChannelThroughServer(t *testing.T) {
	c2s, comp := testServer(t)
	mix, err := connectComponent(t, comp, "s3")
	require.NoError(t, err)
	alice, err := login(t, c2s, "pa")
	require.NoError(t, err)

	// An IQ to the channel is forwarded, and only its answer comes back.
	alice.send(t, `<iq type="get" id="info1" to="coven@mix.localhost"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`)
	mix.expect(t, `id="info1"`, `from="`+alice.full+`"`)
	mix.send(t, `<iq type="result" id="info1" from="coven@mix.localhost" to="`+alice.full+`"><query xmlns="http://jabber.org/protocol/disco#info"><feature var="urn:xmpp:mix:core:1"/></query></iq>`)
	answer := alice.expect(t, `id="info1"`)
	require.Contains(t, answer, `type="result"`, "the first answer alice gets is the channel's")

	// A forged from is replaced by the session's JID (RFC 6120 §8.1.2.1).
	alice.send(t, `<message type="groupchat" id="forged" from="bob@localhost/x" to="coven@mix.localhost"><body>hi</body></message>`)
	require.Contains(t, mix.expect(t, `id="forged"`), `from="`+alice.full+`"`)

	// Presence without caps: the server asks the client's disco#info.
	alice.send(t, `<presence/>`)
	query := alice.expect(t, `type="get"`, "disco#info")
	id := regexpID(t, query)
	alice.send(t, `<iq type="result" id="`+id+`" to="localhost"><query xmlns="http://jabber.org/protocol/disco#info"><identity category="client" type="pc"/><feature var="http://jabber.org/protocol/disco#info"/><feature var="urn:xmpp:mix:core:1"/></query></iq>`)

	// client-join: the channel gets it from the bare JID with the client's id.
	alice.send(t, `<iq type="set" id="join1"><client-join xmlns="urn:xmpp:mix:pam:2" channel="coven@mix.localhost"><join xmlns="urn:xmpp:mix:core:1"><nick>hecate</nick></join></client-join></iq>`)
	join := mix.expect(t, `<join xmlns="urn:xmpp:mix:core:1"`, `from="alice@localhost"`, `id="join1"`)
	require.Contains(t, join, ">hecate</nick>", "the join is forwarded verbatim")
	// While the channel has not answered, alice's stream is served.
	alice.send(t, `<iq type="get" id="roster1"><query xmlns="jabber:iq:roster"/></iq>`)
	require.Contains(t, alice.expect(t, `id="roster1"`), `type="result"`)
	mix.send(t, `<iq type="result" id="join1" from="coven@mix.localhost" to="alice@localhost"><join xmlns="urn:xmpp:mix:core:1" id="123456" jid="123456#coven@mix.localhost"><nick>hecate</nick></join></iq>`)
	alice.expect(t, `type="set"`, `jid="coven@mix.localhost"`, `subscription="from"`)
	result := alice.expect(t, `id="join1"`)
	require.Contains(t, result, `type="result"`)
	require.Contains(t, result, `id="123456"`, "the channel's answer wrapped verbatim")
	// Capable and joined: alice's presence goes to the channel.
	mix.expect(t, "<presence", `from="`+alice.full+`"`, `to="coven@mix.localhost"`)

	// A component speaks only for its own domain: this is dropped.
	mix.send(t, `<message type="chat" id="spoof" from="bob@localhost/x" to="`+alice.full+`"><body>Spoofed</body></message>`)

	// Groupchat to the bare JID: fanned out and archived.
	mix.send(t, `<message type="groupchat" id="m1" from="coven@mix.localhost/123456" to="alice@localhost"><body>Harpier cries</body><mix xmlns="urn:xmpp:mix:core:1"><nick>hecate</nick></mix></message>`)
	live := alice.expect(t, "Harpier cries")
	for _, st := range alice.skipped {
		require.NotContains(t, st, "Spoofed", "the component's stanzas come in order: a delivered spoof came before the groupchat")
	}
	require.Contains(t, live, `to="`+alice.full+`"`)
	require.Contains(t, live, `by="alice@localhost"`, "the user's XEP-0359 stanza-id")
	alice.send(t, `<iq type="set" id="mam1"><query xmlns="urn:xmpp:mam:2" queryid="q1"/></iq>`)
	archived := alice.expect(t, `queryid="q1"`)
	require.Contains(t, archived, "Harpier cries")
	require.Contains(t, alice.expect(t, `id="mam1"`), `type="result"`)
}

func regexpID(t *testing.T, stanza string) string {
	t.Helper()
	m := idAttr.FindStringSubmatch(stanza)
	require.NotNil(t, m, "no id in %s", stanza)
	return m[1]
}

// TestUnservedRequests: every IQ request a client sends gets an answer,
// whether the server serves it, forwards it nowhere or cannot parse its
// address, and the stream goes on (a roster get after each is answered).
func TestUnservedRequests(t *testing.T) {
	c2s, _ := testServer(t)
	alice, err := login(t, c2s, "pa")
	require.NoError(t, err)
	for i, tc := range []struct {
		name, iq, want string
	}{
		{"unknown payload", `<iq type="set" id="u0"><unknown xmlns="urn:example"/></iq>`, "service-unavailable"},
		{"full JID not online", `<iq type="get" id="u1" to="bob@localhost/none"><ping xmlns="urn:xmpp:ping"/></iq>`, "service-unavailable"},
		{"account without a handler", `<iq type="get" id="u2" to="bob@localhost"><ping xmlns="urn:xmpp:ping"/></iq>`, "service-unavailable"},
		{"remote server", `<iq type="get" id="u3" to="elsewhere.example"><ping xmlns="urn:xmpp:ping"/></iq>`, "service-unavailable"},
		{"malformed to taken as none", `<iq type="get" id="u4" to="a@b@c"><query xmlns="jabber:iq:roster"/></iq>`, `type="result"`},
		{"no payload", `<iq type="get" id="u5"/>`, "bad-request"},
		{"the server's disco#info", `<iq type="get" id="u6" to="localhost"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`, `category="server"`},
		{"no payload, to the server", `<iq type="get" id="u7" to="localhost"/>`, "bad-request"},
		{"unknown payload, to the server", `<iq type="get" id="u8" to="localhost"><ping xmlns="urn:xmpp:ping"/></iq>`, "service-unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alice.send(t, tc.iq)
			require.Contains(t, alice.expect(t, fmt.Sprintf(`id="u%d"`, i)), tc.want)
			alice.send(t, `<presence type="bogus"/>`)
			alice.send(t, `<iq type="result" id="unsolicited" to="localhost"><query xmlns="urn:example"/></iq>`)
			alice.send(t, `<iq type="error" id="unsolicited2"/>`)
			alice.send(t, `<message to="@"><body>nowhere</body></message>`)
			alice.send(t, fmt.Sprintf(`<iq type="get" id="r%d"><query xmlns="jabber:iq:roster"/></iq>`, i))
			require.Contains(t, alice.expect(t, fmt.Sprintf(`id="r%d"`, i)), `type="result"`)
		})
	}
}

// TestPriority reads a presence's priority (RFC 6121 §4.7.2.3).
func TestPriority(t *testing.T) {
	for _, tc := range []struct {
		presence string
		want     int8
	}{
		{`<presence><show>away</show></presence>`, 0},
		{`<presence><priority>5</priority></presence>`, 5},
		{`<presence><priority> -1 </priority></presence>`, -1},
		{`<presence><priority>300</priority></presence>`, 0},
		{`<presence><priority>x</priority></presence>`, 0},
		{`<presence><priority/></presence>`, 0},
	} {
		require.Equal(t, tc.want, priority([]byte(tc.presence)), tc.presence)
	}
}

// TestStanzaTooLarge: a client that sends a stanza of more than maxTokens
// tokens is disconnected; its earlier stanzas were served.
func TestStanzaTooLarge(t *testing.T) {
	c2s, _ := testServer(t)
	alice, err := login(t, c2s, "pa")
	require.NoError(t, err)
	alice.send(t, `<iq type="get" id="r1"><query xmlns="jabber:iq:roster"/></iq>`)
	require.Contains(t, alice.expect(t, `id="r1"`), `type="result"`)
	// The server may hang up before it has read all of it.
	big := `<message to="alice@localhost"><body>` + strings.Repeat("<x/>", maxTokens) + `</body></message>`
	_ = alice.s.Send(t.Context(), xml.NewDecoder(strings.NewReader(big)))
	select {
	case st, ok := <-alice.in:
		require.False(t, ok, "the stream goes on: %s", st)
	case <-time.After(wait):
		t.Fatalf("the stream did not end within %v", wait)
	}
}

// TestComponentSpeaksForItsDomain: what a component sends from another
// domain, or without to, goes nowhere (the server would otherwise serve
// it as a request to the component's own "account"); what it addresses
// from its domain is delivered, in order.
func TestComponentSpeaksForItsDomain(t *testing.T) {
	c2s, comp := testServer(t)
	mix, err := connectComponent(t, comp, "s3")
	require.NoError(t, err)
	alice, err := login(t, c2s, "pa")
	require.NoError(t, err)
	mix.send(t, `<iq type="get" id="noto" from="coven@mix.localhost"><query xmlns="jabber:iq:roster"/></iq>`)
	mix.send(t, `<message type="chat" id="spoof" from="bob@localhost/x" to="`+alice.full+`"><body>Spoofed</body></message>`)
	mix.send(t, `<iq type="get" id="sync" from="coven@mix.localhost" to="`+alice.full+`"><ping xmlns="urn:xmpp:ping"/></iq>`)
	alice.expect(t, `id="sync"`)
	alice.send(t, `<iq type="result" id="sync" to="coven@mix.localhost"/>`)
	mix.expect(t, `id="sync"`, `type="result"`)
	require.Empty(t, mix.skipped, "the component got an answer to what it sent without to")
	for _, st := range alice.skipped {
		require.NotContains(t, st, "Spoofed")
	}
}

// TestPresenceWithWhitespace: a client's presence that holds only
// whitespace (a pretty-printing client) is its presence all the same: the
// server asks for its disco#info to learn its MIX capability.
func TestPresenceWithWhitespace(t *testing.T) {
	c2s, _ := testServer(t)
	alice, err := login(t, c2s, "pa")
	require.NoError(t, err)
	alice.send(t, "<presence>\n  </presence>")
	query := alice.expect(t, `type="get"`, "disco#info")
	alice.send(t, `<iq type="result" id="`+regexpID(t, query)+`" to="localhost"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`)
	// Answered in order: the server, stopping, waits for no query.
	alice.send(t, `<iq type="get" id="r1"><query xmlns="jabber:iq:roster"/></iq>`)
	alice.expect(t, `id="r1"`)
}
