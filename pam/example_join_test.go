package pam_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"strings"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
	"github.com/mixpam/mixpam/pam"
	"github.com/mixpam/mixpam/roster"
)

// exampleNetwork wires a JoinHandler to in-memory seams and to an
// in-process channel, coven@mix.shakespeare.example, that accepts every join
// with participant id 123456 and every leave. The roster.Handler that keeps
// the channel items is the one that answers the users' roster gets.
func exampleNetwork(client jid.JID) (*pam.JoinHandler, *hosttest.Recorder, roster.Store) {
	channel := jid.MustParse("coven@mix.shakespeare.example")
	var ex *host.Exchange
	rec := hosttest.NewRecorder(func(_ context.Context, d hosttest.Delivery) error {
		if !d.To.Equal(channel) {
			return nil
		}
		// The channel reads the request and answers through the exchange,
		// as the host does with every incoming IQ result or error.
		dec := xml.NewDecoder(bytes.NewReader(d.Stanza))
		tok, _ := dec.Token()
		req, _ := stanza.NewIQ(tok.(xml.StartElement))
		answer := `<leave xmlns='urn:xmpp:mix:core:1'/>`
		if bytes.Contains(d.Stanza, []byte("<join")) {
			answer = `<join xmlns='urn:xmpp:mix:core:1' id='123456'><nick>third witch</nick></join>`
		}
		_, err := ex.Receive(stanza.IQ{Type: stanza.ResultIQ, From: req.To, To: req.From, ID: req.ID},
			xml.NewDecoder(strings.NewReader(answer)))
		return err
	})
	ex = host.NewExchange(rec)
	sessions := host.NewMemSessions()
	sessions.Add(host.Resource{JID: client, Interested: true, MIXCapable: true, Available: true})
	store := roster.NewMemStore()
	rosters, err := roster.NewHandler(roster.HandlerConfig{Store: store, Sessions: sessions, Router: rec})
	if err != nil {
		panic(err)
	}
	h, err := pam.NewJoinHandler(pam.JoinConfig{Exchanger: ex, Roster: rosters})
	if err != nil {
		panic(err)
	}
	return h, rec, store
}

// A host hands a client's client-join to ServeIQ, which returns at once; the
// answer is routed to the client when the channel has answered and the
// roster holds the channel.
func ExampleJoinHandler_ServeIQ() {
	client := jid.MustParse("hag66@shakespeare.example/UUID-a1j/7533")
	h, rec, store := exampleNetwork(client)
	ctx := context.Background()

	iq := stanza.IQ{Type: stanza.SetIQ, From: client, ID: "E6E10350"}
	payload := xml.NewDecoder(strings.NewReader(`<client-join xmlns='urn:xmpp:mix:pam:2' channel='coven@mix.shakespeare.example'>
	  <join xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>third witch</nick></join>
	</client-join>`))
	if err := h.ServeIQ(ctx, iq, payload, host.RouteReplies(rec)); err != nil {
		panic(err)
	}
	if err := h.Shutdown(ctx); err != nil { // wait for the answer
		panic(err)
	}

	for _, d := range rec.Deliveries() {
		if bytes.Contains(d.Stanza, []byte("jabber:iq:roster")) {
			fmt.Printf("to %s: a roster push\n", d.To) // its id is random
			continue
		}
		fmt.Printf("to %s:\n%s\n", d.To, d.Stanza)
	}
	items, ver, _ := store.Items(ctx, client.Bare())
	fmt.Printf("roster v%d: %s %s participant %s\n", ver, items[0].JID, items[0].Subscription, items[0].ParticipantID)
	// Output:
	// to coven@mix.shakespeare.example:
	// <iq type="set" to="coven@mix.shakespeare.example" from="hag66@shakespeare.example" id="E6E10350"><join xmlns="urn:xmpp:mix:core:1"><subscribe node="urn:xmpp:mix:nodes:messages"></subscribe><nick>third witch</nick></join></iq>
	// to hag66@shakespeare.example/UUID-a1j/7533: a roster push
	// to hag66@shakespeare.example/UUID-a1j/7533:
	// <iq type="result" id="E6E10350" from="hag66@shakespeare.example" to="hag66@shakespeare.example/UUID-a1j/7533"><client-join xmlns="urn:xmpp:mix:pam:2"><join xmlns="urn:xmpp:mix:core:1" id="123456"><nick>third witch</nick></join></client-join></iq>
	// roster v1: coven@mix.shakespeare.example from participant 123456
}

// With mellium's mux, Handle serves one session's client-join and
// client-leave; the handler blocks until the answer is written.
func ExampleHandle() {
	client := jid.MustParse("hag66@shakespeare.example/UUID-a1j/7533")
	h, _, _ := exampleNetwork(client)
	ctx := context.Background() // the session's context
	m := mux.New("jabber:client", pam.Handle(ctx, h, client))

	// A session's stream, reduced to a decoder and an encoder.
	in := xml.NewDecoder(strings.NewReader(`<iq xmlns='jabber:client' type='set' id='L1'>` +
		`<client-leave xmlns='urn:xmpp:mix:pam:2' channel='coven@mix.shakespeare.example'>` +
		`<leave xmlns='urn:xmpp:mix:core:1'/></client-leave></iq>`))
	var out strings.Builder
	enc := xml.NewEncoder(&out)
	tok, _ := in.Token()
	start := tok.(xml.StartElement)
	stream := struct {
		xml.TokenReader
		xmlstream.Encoder
	}{in, enc}
	if err := m.HandleXMPP(stream, &start); err != nil {
		panic(err)
	}
	if err := enc.Flush(); err != nil {
		panic(err)
	}
	fmt.Println(out.String())
	// Output:
	// <iq type="result" id="L1" from="hag66@shakespeare.example" to="hag66@shakespeare.example/UUID-a1j/7533"><client-leave xmlns="urn:xmpp:mix:pam:2"><leave xmlns="urn:xmpp:mix:core:1"></leave></client-leave></iq>
}
