package mixpam_test

import (
	"context"
	"testing"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host"
)

// FuzzDispatchRaw hands the Dispatcher arbitrary bytes as a host holding
// stanzas as bytes would (from stamped by the host is the fuzzer's to
// forge, as a remote peer's would be): it never panics, never blocks past
// its bound, and says either "not mine" or handled. The seeds are the
// XEP-0405 examples' stanzas, as a client or a channel sends them.
func FuzzDispatchRaw(f *testing.F) {
	for _, s := range []string{
		`<iq type="set" id="j1" from="alice@example.org/laptop" to="alice@example.org"><client-join xmlns="urn:xmpp:mix:pam:2" channel="coven@mix.example.org"><join xmlns="urn:xmpp:mix:core:1"><subscribe node="urn:xmpp:mix:nodes:messages"/><nick>third witch</nick></join></client-join></iq>`,
		`<iq type="set" id="l1" from="alice@example.org/laptop" to="alice@example.org"><client-leave xmlns="urn:xmpp:mix:pam:2" channel="coven@mix.example.org"><leave xmlns="urn:xmpp:mix:core:1"/></client-leave></iq>`,
		`<iq type="result" id="x" from="coven@mix.example.org" to="alice@example.org"><join xmlns="urn:xmpp:mix:core:1" id="123456"><subscribe node="urn:xmpp:mix:nodes:messages"/></join></iq>`,
		`<iq type="get" id="r1" from="alice@example.org/laptop"><query xmlns="jabber:iq:roster"><annotate xmlns="urn:xmpp:mix:roster:0"/></query></iq>`,
		`<iq type="set" id="q1" from="alice@example.org/laptop"><query xmlns="urn:xmpp:mam:2" queryid="f27"><x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE" type="hidden"><value>urn:xmpp:mam:2</value></field><field var="with"><value>coven@mix.example.org</value></field></x></query></iq>`,
		`<iq type="set" id="b1" from="alice@example.org/laptop"><block xmlns="urn:xmpp:blocking"><item jid="123456#coven@mix.example.org"/></block></iq>`,
		`<iq type="get" id="d1" from="bob@example.org/phone" to="alice@example.org"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`,
		`<message type="groupchat" from="coven@mix.example.org/123456" to="alice@example.org" id="m1"><body>Harpier cries</body><mix xmlns="urn:xmpp:mix:core:1"><nick>thirdwitch</nick><jid>hag66@shakespeare.example</jid></mix></message>`,
		`<presence from="alice@example.org/laptop"><c xmlns="http://jabber.org/protocol/caps" hash="sha-1" node="https://example.org" ver="QgayPKawpkPSDYmwT/WM94uAlu0="/></presence>`,
		`<presence from="123456#coven@mix.example.org/laptop" to="alice@example.org"><mix xmlns="urn:xmpp:mix:presence:0"><nick>thirdwitch</nick></mix></presence>`,
		`<iq type="foo" id="i1" from="alice@example.org/laptop"/>`,
	} {
		f.Add([]byte(s))
	}
	sessions := host.NewMemSessions()
	sessions.Add(host.Resource{JID: jid.MustParse(laptop), MIXCapable: true})
	w := make(wire, 64)
	go func() {
		for range w { // the host's sockets take whatever is routed
		}
	}()
	d, err := newMixpam(sessions, w)
	if err != nil {
		f.Fatal(err)
	}
	// Not closed: Close would wait for the caps lookups the presence seeds
	// set off, which end with the resolver's timeout.
	f.Fuzz(func(t *testing.T, raw []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- d.DispatchRaw(ctx, raw) }()
		// Any error is an outcome (not mine, or a failure reported); what
		// must not happen is a panic or a hang.
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("DispatchRaw did not return within 10 s for %q", raw)
		}
	})
}
