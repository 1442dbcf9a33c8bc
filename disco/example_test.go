package disco_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"strings"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/disco"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
	"github.com/mixpam/mixpam/ns"
)

func ExampleFeatures() {
	features := disco.Features{Archive: true}
	_ = features.ForFeatures("", func(f info.Feature) error {
		fmt.Println(f.Var)
		return nil
	})
	// Output:
	// urn:xmpp:mix:pam:2
	// urn:xmpp:mix:pam:2#archive
}

func ExampleAccount_ServeIQ() {
	router := hosttest.NewRecorder(nil) // the host's router
	account, err := disco.NewAccount(disco.AccountConfig{
		Features:      disco.Features{Archive: true},
		OwnerFeatures: []string{"urn:xmpp:mam:2"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	// XEP-0405 §2.4 Listing 3: a client asks its own account, without to.
	req := stanza.IQ{ID: "lx09df27", Type: stanza.GetIQ, From: jid.MustParse("hag66@shakespeare.example/UUID-c8y/1573")}
	payload := xml.NewDecoder(strings.NewReader(`<query xmlns='http://jabber.org/protocol/disco#info'/>`))
	if err := account.ServeIQ(context.Background(), req, payload, host.RouteReplies(router)); err != nil {
		fmt.Println(err) // host.ErrNotHandled: not for an account; route it on
		return
	}
	for _, d := range router.Deliveries() {
		fmt.Println("to", d.To)
		fmt.Println(strings.ReplaceAll(string(d.Stanza), "><", ">\n<"))
	}
	// Output:
	// to hag66@shakespeare.example/UUID-c8y/1573
	// <iq type="result" to="hag66@shakespeare.example/UUID-c8y/1573" from="hag66@shakespeare.example" id="lx09df27">
	// <query xmlns="http://jabber.org/protocol/disco#info">
	// <identity category="account" type="registered">
	// </identity>
	// <feature var="http://jabber.org/protocol/disco#info">
	// </feature>
	// <feature var="urn:xmpp:mix:pam:2">
	// </feature>
	// <feature var="urn:xmpp:mix:pam:2#archive">
	// </feature>
	// <feature var="urn:xmpp:mam:2">
	// </feature>
	// </query>
	// </iq>
}

// A host built on mellium's mux registers the Account on each client
// session's mux, with the JID the session bound.
func ExampleHandle() {
	account, err := disco.NewAccount(disco.AccountConfig{Features: disco.Features{Archive: true}})
	if err != nil {
		fmt.Println(err)
		return
	}

	// The server's own disco#info, for requests to its domain, from
	// mellium's disco.Handle on a mux of its own.
	serverDisco := mux.New(ns.Client /* , mellium's disco.Handle(), the server's features… */)
	next := mux.IQHandlerFunc(func(iq stanza.IQ, t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		h, _ := serverDisco.IQHandler(iq.Type, start.Name)
		return h.HandleIQ(iq, t, start)
	})

	ctx := context.Background() // the session's context
	bound := jid.MustParse("juliet@capulet.com/balcony")
	m := mux.New(ns.Client, disco.Handle(ctx, account, bound, next))
	_ = m // serve the session with m
}

func ExampleParseCaps() {
	// The children of a presence from XEP-0115 §6.1.
	payload := xml.NewDecoder(strings.NewReader(`<c xmlns='http://jabber.org/protocol/caps'
     hash='sha-1'
     node='http://code.google.com/p/exodus'
     ver='QgayPKawpkPSDYmwT/WM94uAlu0='/>`))
	c, found, err := disco.ParseCaps(payload)
	fmt.Println(found, err)
	fmt.Println(c.Hash, c.InfoNode())
	// Output:
	// true <nil>
	// sha-1 http://code.google.com/p/exodus#QgayPKawpkPSDYmwT/WM94uAlu0=
}

func ExampleVerificationString() {
	// The entity of XEP-0115 §5.2.
	i := disco.Info{
		Identities: []info.Identity{{Category: "client", Type: "pc", Name: "Exodus 0.9.1"}},
		Features: []string{
			"http://jabber.org/protocol/caps",
			"http://jabber.org/protocol/disco#info",
			"http://jabber.org/protocol/disco#items",
			"http://jabber.org/protocol/muc",
		},
	}
	fmt.Println(disco.VerificationString(i, "sha-1"))
	// Output:
	// QgayPKawpkPSDYmwT/WM94uAlu0= <nil>
}

func ExampleInfo_MIXCapable() {
	// The client of XEP-0369 §6.7.
	i, err := disco.ParseInfo(xml.NewDecoder(strings.NewReader(`<query xmlns='http://jabber.org/protocol/disco#info'>
    <identity category='client' name='Swift' type='pc'/>
    <feature var='http://jabber.org/protocol/caps'/>
    <feature var='urn:xmpp:mix:core:1'/>
  </query>`)))
	fmt.Println(i.MIXCapable(), err)
	// Output:
	// true <nil>
}

// answering is a host.Exchanger standing in for a MIX client that answers
// disco#info queries.
type answering struct{ body string }

func (a answering) Exchange(_ context.Context, req stanza.IQ, payload xml.TokenReader) (host.Response, error) {
	q, err := disco.ParseInfo(payload)
	if err != nil {
		return host.Response{}, err
	}
	fmt.Printf("query to %s for node %s\n", req.To, q.Node)
	return host.Response{
		IQ:      stanza.IQ{ID: req.ID, Type: stanza.ResultIQ, From: req.To, To: req.From},
		Payload: []byte(`<query xmlns="http://jabber.org/protocol/disco#info" node="` + q.Node + `">` + a.body + `</query>`),
	}, nil
}

func ExampleResolver_MIXCapable() {
	client := answering{body: `<identity category="client" type="pc" name="Example"/>` +
		`<feature var="http://jabber.org/protocol/disco#info"/><feature var="urn:xmpp:mix:core:1"/>`}
	// What the client advertises in its presence.
	caps := disco.Caps{Hash: "sha-1", Node: "https://example.org", Ver: "TE7uH5KuuMkisq86fj2ZwLazZik="}

	r, err := disco.NewResolver(disco.ResolverConfig{Exchanger: client})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, session := range []string{"juliet@capulet.lit/balcony", "juliet@capulet.lit/garden"} {
		capable, err := r.MIXCapable(context.Background(), jid.MustParse(session), caps)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			continue
		}
		fmt.Println(session, "MIX capable:", capable)
	}
	// Output:
	// query to juliet@capulet.lit/balcony for node https://example.org#TE7uH5KuuMkisq86fj2ZwLazZik=
	// juliet@capulet.lit/balcony MIX capable: true
	// juliet@capulet.lit/garden MIX capable: true
}
