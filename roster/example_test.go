package roster_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"strings"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
	"github.com/mixpam/mixpam/roster"
)

// A host without a roster module of its own answers roster IQs with a
// Handler, and keeps channel items in step with joins and leaves.
func ExampleHandler() {
	ctx := context.Background()
	user := jid.MustParse("juliet@example.com")
	session := jid.MustParse("juliet@example.com/balcony")

	sessions := host.NewMemSessions()
	router := hosttest.NewRecorder(nil)
	h, err := roster.NewHandler(roster.HandlerConfig{Store: roster.NewMemStore(), Sessions: sessions, Router: router})
	if err != nil {
		panic(err)
	}

	// The participant server joined a channel for the user (XEP-0405 §2.7).
	channel := jid.MustParse("coven@mix.shakespeare.example")
	if err := h.AddChannel(ctx, user, roster.ChannelItem(channel, "123456", "", true)); err != nil {
		fmt.Println(err)
		return
	}

	// A client comes online and asks for the annotated roster.
	sessions.Add(host.Resource{JID: session, Interested: true, MIXCapable: true})
	get := stanza.IQ{ID: "bv1bs71f", Type: stanza.GetIQ, From: session}
	payload := xml.NewDecoder(strings.NewReader(
		`<query xmlns='jabber:iq:roster'><annotate xmlns='urn:xmpp:mix:roster:0'/></query>`))
	if err := h.ServeIQ(ctx, get, payload, host.RouteReplies(router)); err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range router.Deliveries() {
		fmt.Printf("%s\n", d.Stanza)
	}
	// Output:
	// <iq type="result" id="bv1bs71f" from="juliet@example.com" to="juliet@example.com/balcony"><query xmlns="jabber:iq:roster" ver="1+mix"><item jid="coven@mix.shakespeare.example" name="coven" subscription="from"><channel xmlns="urn:xmpp:mix:roster:0" participant-id="123456"/></item></query></iq>
}

// A host with its own roster module keeps it and puts an Annotator around
// it.
func ExampleAnnotator() {
	ctx := context.Background()
	user := jid.MustParse("juliet@example.com")
	session := jid.MustParse("juliet@example.com/balcony")
	sessions := host.NewMemSessions()
	sessions.Add(host.Resource{JID: session, Interested: true, MIXCapable: true})
	store := roster.NewMemStore()
	channel := jid.MustParse("coven@mix.shakespeare.example")
	if _, err := store.Put(ctx, user, roster.ChannelItem(channel, "123456", "", true)); err != nil {
		fmt.Println(err)
		return
	}
	a := roster.Annotator{Sessions: sessions, Roster: store}

	// The client's get goes through Request: the module sees a plain get.
	get := stanza.IQ{ID: "bv1bs71f", Type: stanza.GetIQ, From: session}
	forModule, err := a.Request(ctx, get, xml.NewDecoder(strings.NewReader(
		`<query xmlns='jabber:iq:roster'><annotate xmlns='urn:xmpp:mix:roster:0'/></query>`)))
	if err != nil {
		fmt.Println(err) // a stanza.Error goes back to the client
		return
	}
	if err := printTokens(forModule); err != nil {
		fmt.Println(err)
		return
	}

	// The module's answer goes through Transform on its way to the client.
	result := `<iq type='result' id='bv1bs71f' to='juliet@example.com/balcony'><query xmlns='jabber:iq:roster' ver='7'>` +
		`<item jid='coven@mix.shakespeare.example' subscription='from'/></query></iq>`
	toClient, err := a.Transform(ctx, session, xml.NewDecoder(strings.NewReader(result)))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := printTokens(toClient); err != nil {
		fmt.Println(err)
	}
	// Output:
	// <query xmlns="jabber:iq:roster"></query>
	// <iq type="result" id="bv1bs71f" to="juliet@example.com/balcony"><query xmlns="jabber:iq:roster" ver="7+mix"><item xmlns="jabber:iq:roster" jid="coven@mix.shakespeare.example" subscription="from"><channel xmlns="urn:xmpp:mix:roster:0" participant-id="123456"></channel></item></query></iq>
}

// printTokens writes decoder tokens as a mellium session would, without
// the xmlns attributes the decoder repeats beside Name.Space.
func printTokens(r xml.TokenReader) error {
	e := xml.NewEncoder(os.Stdout)
	for {
		tok, err := r.Token()
		if tok != nil {
			if start, ok := tok.(xml.StartElement); ok {
				attrs := start.Attr[:0:0]
				for _, a := range start.Attr {
					if a.Name.Local != "xmlns" {
						attrs = append(attrs, a)
					}
				}
				start.Attr = attrs
				tok = start
			}
			if err := e.EncodeToken(tok); err != nil {
				return err
			}
		}
		if err != nil {
			if err := e.Flush(); err != nil {
				return err
			}
			fmt.Println()
			return nil
		}
	}
}

// ChannelItem names a channel item after the channel when the channel has
// no name.
func ExampleChannelItem() {
	channel := jid.MustParse("coven@mix.shakespeare.example")
	fmt.Printf("%+v\n", roster.ChannelItem(channel, "123456", "", false))
	fmt.Printf("%+v\n", roster.ChannelItem(channel, "123456", "The Coven", true))
	// Output:
	// {JID:coven@mix.shakespeare.example Name:coven Subscription:none Ask:false Groups:[] Channel:true ParticipantID:123456}
	// {JID:coven@mix.shakespeare.example Name:The Coven Subscription:from Ask:false Groups:[] Channel:true ParticipantID:123456}
}

// A host built on mellium's mux registers the Handler per session.
func ExampleHandle() {
	ctx := context.Background()
	sessions := host.NewMemSessions()
	h, err := roster.NewHandler(roster.HandlerConfig{Store: roster.NewMemStore(), Sessions: sessions, Router: hosttest.NewRecorder(nil)})
	if err != nil {
		panic(err)
	}
	session := jid.MustParse("juliet@example.com/balcony")
	m := mux.New(stanza.NSClient, roster.Handle(ctx, h, session))
	_ = m // Serve the session with m: roster gets and sets reach h.
}

// A host bounds every roster (and so the answer to a roster get) with
// HandlerConfig.Limits; a roster set beyond them is refused with a stanza
// error.
func ExampleLimits() {
	ctx := context.Background()
	session := jid.MustParse("juliet@example.com/balcony")
	router := hosttest.NewRecorder(nil)
	h, err := roster.NewHandler(roster.HandlerConfig{
		Store: roster.NewMemStore(), Sessions: host.NewMemSessions(), Router: router,
		Limits: roster.Limits{MaxItems: 1, MaxItemBytes: 512},
	})
	if err != nil {
		panic(err)
	}
	for i, contact := range []string{"romeo@example.net", "nurse@example.com"} {
		set := stanza.IQ{ID: fmt.Sprintf("s%d", i), Type: stanza.SetIQ, From: session}
		payload := xml.NewDecoder(strings.NewReader(`<query xmlns='jabber:iq:roster'><item jid='` + contact + `'/></query>`))
		if err := h.ServeIQ(ctx, set, payload, host.RouteReplies(router)); err != nil {
			fmt.Println(err)
			return
		}
	}
	for _, d := range router.Deliveries() {
		if bytes.Contains(d.Stanza, []byte(`id="s`)) {
			fmt.Printf("%s\n", d.Stanza)
		}
	}
	// Output:
	// <iq type="result" id="s0" from="juliet@example.com" to="juliet@example.com/balcony"/>
	// <iq type="error" to="juliet@example.com/balcony" from="juliet@example.com" id="s1"><error type="cancel"><policy-violation xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"></policy-violation><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">the roster holds at most 1 item(s)</text></error></iq>
}
