package archive_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"strings"
	"time"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
)

// A client asks for the last page of its messages from one channel
// (XEP-0313 §4.3 with an empty <before/>).
func ExampleMAMHandler_ServeIQ() {
	ctx := context.Background()
	owner := jid.MustParse("juliet@capulet.example")
	coven := jid.MustParse("coven@mix.shakespeare.example")
	store := archive.NewMemStore()
	for i, id := range []string{"a1", "a2", "a3"} {
		msg := fmt.Sprintf(`<message to="juliet@capulet.example" from="coven@mix.shakespeare.example/123456" type="groupchat"><body>%d</body></message>`, i)
		rec := archive.Record{ID: id, With: coven, Time: time.Date(2024, 1, 1, 12, i, 0, 0, time.UTC), Stanza: []byte(msg)}
		if err := store.Append(ctx, owner, rec); err != nil {
			panic(err)
		}
	}
	router := hosttest.NewRecorder(nil)
	h, err := archive.NewMAMHandler(archive.MAMConfig{Store: store})
	if err != nil {
		panic(err)
	}

	iq := stanza.IQ{ID: "q1", Type: stanza.SetIQ, From: jid.MustParse("juliet@capulet.example/balcony")}
	payload := xml.NewDecoder(strings.NewReader(`<query xmlns="urn:xmpp:mam:2" queryid="f27">
  <x xmlns="jabber:x:data" type="submit">
    <field var="FORM_TYPE" type="hidden"><value>urn:xmpp:mam:2</value></field>
    <field var="with"><value>coven@mix.shakespeare.example</value></field>
  </x>
  <set xmlns="http://jabber.org/protocol/rsm"><max>2</max><before/></set>
</query>`))
	if err := h.ServeIQ(ctx, iq, payload, host.RouteReplies(router)); err != nil {
		panic(err)
	}
	for _, d := range router.Deliveries() {
		fmt.Printf("%s\n\n", d.Stanza)
	}
	// Output:
	// <message to="juliet@capulet.example/balcony" from="juliet@capulet.example" id="a2"><result xmlns="urn:xmpp:mam:2" queryid="f27" id="a2"><forwarded xmlns="urn:xmpp:forward:0"><delay xmlns="urn:xmpp:delay" stamp="2024-01-01T12:01:00.000000Z"></delay><message xmlns="jabber:client" to="juliet@capulet.example" from="coven@mix.shakespeare.example/123456" type="groupchat"><body>1</body></message></forwarded></result></message>
	//
	// <message to="juliet@capulet.example/balcony" from="juliet@capulet.example" id="a3"><result xmlns="urn:xmpp:mam:2" queryid="f27" id="a3"><forwarded xmlns="urn:xmpp:forward:0"><delay xmlns="urn:xmpp:delay" stamp="2024-01-01T12:02:00.000000Z"></delay><message xmlns="jabber:client" to="juliet@capulet.example" from="coven@mix.shakespeare.example/123456" type="groupchat"><body>2</body></message></forwarded></result></message>
	//
	// <iq type="result" id="q1" from="juliet@capulet.example" to="juliet@capulet.example/balcony"><fin xmlns="urn:xmpp:mam:2"><set xmlns="http://jabber.org/protocol/rsm"><first index="1">a2</first><last>a3</last><count>3</count></set></fin></iq>
}

// A client of urn:xmpp:mam:2#extended first asks for the archive's metadata
// (XEP-0313 §6), then fetches what it misses with after-id (§4.1.3).
func ExampleMAMHandler_ServeIQ_extended() {
	ctx := context.Background()
	owner := jid.MustParse("juliet@capulet.example")
	coven := jid.MustParse("coven@mix.shakespeare.example")
	store := archive.NewMemStore()
	for i, id := range []string{"a1", "a2", "a3"} {
		msg := fmt.Sprintf(`<message to="juliet@capulet.example" from="coven@mix.shakespeare.example/123456" type="groupchat"><body>%d</body></message>`, i)
		rec := archive.Record{ID: id, With: coven, Time: time.Date(2024, 1, 1, 12, i, 0, 0, time.UTC), Stanza: []byte(msg)}
		if err := store.Append(ctx, owner, rec); err != nil {
			panic(err)
		}
	}
	router := hosttest.NewRecorder(nil)
	h, err := archive.NewMAMHandler(archive.MAMConfig{Store: store})
	if err != nil {
		panic(err)
	}
	balcony := jid.MustParse("juliet@capulet.example/balcony")

	metadata := xml.NewDecoder(strings.NewReader(`<metadata xmlns="urn:xmpp:mam:2"/>`))
	if err := h.ServeIQ(ctx, stanza.IQ{ID: "m1", Type: stanza.GetIQ, From: balcony}, metadata, host.RouteReplies(router)); err != nil {
		panic(err)
	}
	query := xml.NewDecoder(strings.NewReader(`<query xmlns="urn:xmpp:mam:2">
  <x xmlns="jabber:x:data" type="submit">
    <field var="FORM_TYPE" type="hidden"><value>urn:xmpp:mam:2</value></field>
    <field var="after-id"><value>a2</value></field>
  </x>
</query>`))
	if err := h.ServeIQ(ctx, stanza.IQ{ID: "q1", Type: stanza.SetIQ, From: balcony}, query, host.RouteReplies(router)); err != nil {
		panic(err)
	}
	for _, d := range router.Deliveries() {
		fmt.Printf("%s\n\n", d.Stanza)
	}
	// Output:
	// <iq type="result" id="m1" from="juliet@capulet.example" to="juliet@capulet.example/balcony"><metadata xmlns="urn:xmpp:mam:2"><start id="a1" timestamp="2024-01-01T12:00:00.000000Z"></start><end id="a3" timestamp="2024-01-01T12:02:00.000000Z"></end></metadata></iq>
	//
	// <message to="juliet@capulet.example/balcony" from="juliet@capulet.example" id="a3"><result xmlns="urn:xmpp:mam:2" id="a3"><forwarded xmlns="urn:xmpp:forward:0"><delay xmlns="urn:xmpp:delay" stamp="2024-01-01T12:02:00.000000Z"></delay><message xmlns="jabber:client" to="juliet@capulet.example" from="coven@mix.shakespeare.example/123456" type="groupchat"><body>2</body></message></forwarded></result></message>
	//
	// <iq type="result" id="q1" from="juliet@capulet.example" to="juliet@capulet.example/balcony"><fin xmlns="urn:xmpp:mam:2" complete="true"><set xmlns="http://jabber.org/protocol/rsm"><first index="0">a3</first><last>a3</last><count>1</count></set></fin></iq>
}

// Archive ids sort as strings in the order they were made.
func ExampleIDGenerator() {
	var g archive.IDGenerator
	first, t1 := g.Next()
	second, t2 := g.Next()
	fmt.Println(len(first), first < second, t1.Before(t2))
	// Output:
	// 26 true true
}
