package disco_test

import (
	"context"
	"encoding/xml"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/disco"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
)

const (
	query       = `<query xmlns='http://jabber.org/protocol/disco#info'/>`
	ownerResult = `<query xmlns="http://jabber.org/protocol/disco#info">` +
		`<identity category="account" type="registered"></identity>` +
		`<identity category="pubsub" type="pep"></identity>` +
		`<feature var="http://jabber.org/protocol/disco#info"></feature>` +
		`<feature var="urn:xmpp:mix:pam:2"></feature>` +
		`<feature var="urn:xmpp:mix:pam:2#archive"></feature>` +
		`<feature var="urn:xmpp:mam:2"></feature>` +
		`<feature var="urn:xmpp:blocking"></feature>` +
		`<feature var="urn:example:public"></feature>` +
		`</query>`
	publicResult = `<query xmlns="http://jabber.org/protocol/disco#info">` +
		`<identity category="account" type="registered"></identity>` +
		`<identity category="pubsub" type="pep"></identity>` +
		`<feature var="http://jabber.org/protocol/disco#info"></feature>` +
		`<feature var="urn:example:public"></feature>` +
		`</query>`
	emptyQuery = `<query xmlns="http://jabber.org/protocol/disco#info"></query>`
)

// errorXML is the <error/> element of an IQ error response.
func errorXML(typ, cond, text string) string {
	return `<error type="` + typ + `"><` + cond + ` xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"></` + cond + `>` +
		`<text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">` + text + `</text></error>`
}

// testAccount is an Account with every kind of configuration, whose Authorizer admits romeo@montague.lit to
// juliet@capulet.lit only, and fails for requesters at broken.example.
func testAccount(t testing.TB) *disco.Account {
	a, err := disco.NewAccount(disco.AccountConfig{
		Features: disco.Features{Archive: true},
		Identities: []info.Identity{
			{Category: "pubsub", Type: "pep"},
			{Category: "account", Type: "registered", Name: "repeated, dropped"},
		},
		OwnerFeatures:  []string{"urn:xmpp:mam:2", "urn:xmpp:blocking", "urn:xmpp:mix:pam:2"},
		PublicFeatures: []string{"urn:example:public"},
		Authorizer: disco.AuthorizerFunc(func(ctx context.Context, account, requester jid.JID) (bool, error) {
			require.NoError(t, ctx.Err())
			if requester.Domainpart() == "broken.example" {
				return false, errors.New("roster store down")
			}
			return account.String() == "juliet@capulet.lit" && requester.Bare().String() == "romeo@montague.lit", nil
		}),
	})
	require.NoError(t, err)
	return a
}

// answer hands a request to a, which answers through rec, and returns the
// one answer, sent to the requester.
func answer(t *testing.T, a *disco.Account, rec *hosttest.Recorder, iq stanza.IQ, payload xml.TokenReader) string {
	t.Helper()
	rec.Reset()
	require.NoError(t, a.ServeIQ(t.Context(), iq, payload, host.RouteReplies(rec)))
	got := rec.Deliveries()
	require.Len(t, got, 1, "one answer")
	require.Equal(t, iq.From.String(), got[0].To.String(), "routed to the requester")
	return string(got[0].Stanza)
}

// routerFunc is a host.Router calling a function.
type routerFunc func(ctx context.Context, to jid.JID, stanza xml.TokenReader) error

func (f routerFunc) Route(ctx context.Context, to jid.JID, stanza xml.TokenReader) error {
	return f(ctx, to, stanza)
}

// unusedRouter fails the test when something is routed through it.
func unusedRouter(t testing.TB) host.Router {
	return routerFunc(func(context.Context, jid.JID, xml.TokenReader) error {
		t.Error("nothing may be routed")
		return errors.New("unused router")
	})
}

func TestAccountServeIQ(t *testing.T) {
	const (
		juliet  = "juliet@capulet.lit"
		balcony = "juliet@capulet.lit/balcony"
		romeo   = "romeo@montague.lit/orchard"
		tybalt  = "tybalt@capulet.lit/street"
	)
	iq := func(typ stanza.IQType, from, to string) stanza.IQ {
		q := stanza.IQ{ID: "info1", Type: typ}
		if from != "" {
			q.From = jid.MustParse(from)
		}
		if to != "" {
			q.To = jid.MustParse(to)
		}
		return q
	}
	for _, tc := range []struct {
		name    string
		iq      stanza.IQ
		payload string
		want    string
	}{{
		name:    "owner to own bare JID",
		iq:      iq(stanza.GetIQ, balcony, juliet),
		payload: query,
		want:    `<iq type="result" to="` + balcony + `" from="` + juliet + `" id="info1">` + ownerResult + `</iq>`,
	}, {
		name:    "owner without to (XEP-0405 Listing 3)",
		iq:      iq(stanza.GetIQ, balcony, ""),
		payload: query,
		want:    `<iq type="result" to="` + balcony + `" from="` + juliet + `" id="info1">` + ownerResult + `</iq>`,
	}, {
		name:    "owner with whitespace and children in the query",
		iq:      iq(stanza.GetIQ, balcony, juliet),
		payload: "\n  <query xmlns='http://jabber.org/protocol/disco#info'><feature var='x'/></query>\n",
		want:    `<iq type="result" to="` + balcony + `" from="` + juliet + `" id="info1">` + ownerResult + `</iq>`,
	}, {
		name:    "admitted contact sees public features only",
		iq:      iq(stanza.GetIQ, romeo, juliet),
		payload: query,
		want:    `<iq type="result" to="` + romeo + `" from="` + juliet + `" id="info1">` + publicResult + `</iq>`,
	}, {
		name:    "other user's account",
		iq:      iq(stanza.GetIQ, tybalt, juliet),
		payload: query,
		want: `<iq type="error" to="` + tybalt + `" from="` + juliet + `" id="info1">` + emptyQuery +
			errorXML("cancel", "service-unavailable", "service discovery of this account is not available") + `</iq>`,
	}, {
		name:    "owner of another account",
		iq:      iq(stanza.GetIQ, balcony, "romeo@montague.lit"),
		payload: query,
		want: `<iq type="error" to="` + balcony + `" from="romeo@montague.lit" id="info1">` + emptyQuery +
			errorXML("cancel", "service-unavailable", "service discovery of this account is not available") + `</iq>`,
	}, {
		name:    "authorizer fails",
		iq:      iq(stanza.GetIQ, "broken.example", juliet),
		payload: query,
		want: `<iq type="error" to="broken.example" from="` + juliet + `" id="info1">` + emptyQuery +
			errorXML("wait", "internal-server-error", "cannot decide access to this account now") + `</iq>`,
	}, {
		name:    "node",
		iq:      iq(stanza.GetIQ, balcony, juliet),
		payload: `<query xmlns='http://jabber.org/protocol/disco#info' node='http://jabber.org/protocol/commands'/>`,
		want: `<iq type="error" to="` + balcony + `" from="` + juliet + `" id="info1">` +
			`<query xmlns="http://jabber.org/protocol/disco#info" node="http://jabber.org/protocol/commands"></query>` +
			errorXML("cancel", "item-not-found", "the account has no such node") + `</iq>`,
	}, {
		name:    "node from a refused requester",
		iq:      iq(stanza.GetIQ, tybalt, juliet),
		payload: `<query xmlns='http://jabber.org/protocol/disco#info' node='n'/>`,
		want: `<iq type="error" to="` + tybalt + `" from="` + juliet + `" id="info1">` +
			`<query xmlns="http://jabber.org/protocol/disco#info" node="n"></query>` +
			errorXML("cancel", "service-unavailable", "service discovery of this account is not available") + `</iq>`,
	}, {
		name:    "type set",
		iq:      iq(stanza.SetIQ, balcony, juliet),
		payload: query,
		want: `<iq type="error" to="` + balcony + `" from="` + juliet + `" id="info1">` + emptyQuery +
			errorXML("cancel", "feature-not-implemented", "disco#info requests are of type get") + `</iq>`,
	}, {
		name: "header decoded from a jabber:client stream",
		iq: stanza.IQ{
			XMLName: xml.Name{Space: "jabber:client", Local: "iq"},
			ID:      "info1", Type: stanza.SetIQ, From: jid.MustParse(balcony),
		},
		payload: query,
		want: `<iq type="error" to="` + balcony + `" from="` + juliet + `" id="info1">` + emptyQuery +
			errorXML("cancel", "feature-not-implemented", "disco#info requests are of type get") + `</iq>`,
	}, {
		name:    "no id",
		iq:      stanza.IQ{Type: stanza.GetIQ, From: jid.MustParse(balcony), To: jid.MustParse(juliet)},
		payload: query,
		want: `<iq type="error" to="` + balcony + `" from="` + juliet + `">` + emptyQuery +
			errorXML("modify", "bad-request", "an IQ needs an id") + `</iq>`,
	}, {
		name:    "no payload",
		iq:      iq(stanza.GetIQ, balcony, juliet),
		payload: "",
		want: `<iq type="error" to="` + balcony + `" from="` + juliet + `" id="info1">` +
			errorXML("modify", "bad-request", "an IQ request needs a payload") + `</iq>`,
	}, {
		name:    "two payload elements",
		iq:      iq(stanza.GetIQ, balcony, juliet),
		payload: query + query,
		want: `<iq type="error" to="` + balcony + `" from="` + juliet + `" id="info1">` +
			errorXML("modify", "bad-request", "an IQ request carries exactly one payload element") + `</iq>`,
	}, {
		name:    "unclosed query",
		iq:      iq(stanza.GetIQ, balcony, juliet),
		payload: `<query xmlns='http://jabber.org/protocol/disco#info'><feature>`,
		want: `<iq type="error" to="` + balcony + `" from="` + juliet + `" id="info1">` +
			errorXML("modify", "bad-request", "the payload is not well-formed XML") + `</iq>`,
	}, {
		name:    "broken XML",
		iq:      iq(stanza.GetIQ, balcony, juliet),
		payload: `<query xmlns='http://jabber.org/protocol/disco#info'></feature>`,
		want: `<iq type="error" to="` + balcony + `" from="` + juliet + `" id="info1">` +
			errorXML("modify", "bad-request", "the payload is not well-formed XML") + `</iq>`,
	}, {
		name:    "stray end element",
		iq:      iq(stanza.GetIQ, balcony, juliet),
		payload: `</query>`,
		want: `<iq type="error" to="` + balcony + `" from="` + juliet + `" id="info1">` +
			errorXML("modify", "bad-request", "the payload is not well-formed XML") + `</iq>`,
	}, {
		name:    "disco#items",
		iq:      iq(stanza.GetIQ, balcony, juliet),
		payload: `<query xmlns='http://jabber.org/protocol/disco#items'/>`,
		want: `<iq type="error" to="` + balcony + `" from="` + juliet + `" id="info1">` +
			errorXML("cancel", "service-unavailable", "only disco#info queries are answered here") + `</iq>`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			rec := hosttest.NewRecorder(nil)
			require.Equal(t, tc.want, answer(t, testAccount(t), rec, tc.iq, tokensOf(tc.payload)))
		})
	}
}

// failingReader fails the test when read.
type failingReader struct{ t *testing.T }

func (r failingReader) Token() (xml.Token, error) {
	r.t.Error("payload read for an IQ that is not handled")
	return nil, errors.New("must not be read")
}

// TestAccountNotHandled covers the IQs that ServeIQ leaves to the host: it
// reads nothing, routes nothing, and says why.
func TestAccountNotHandled(t *testing.T) {
	for _, tc := range []struct {
		name string
		iq   stanza.IQ
		err  error
	}{
		{"full JID", stanza.IQ{ID: "a", Type: stanza.GetIQ, From: jid.MustParse("romeo@montague.lit/orchard"), To: jid.MustParse("juliet@capulet.lit/balcony")}, host.ErrNotHandled},
		{"domain", stanza.IQ{ID: "a", Type: stanza.GetIQ, From: jid.MustParse("juliet@capulet.lit/balcony"), To: jid.MustParse("capulet.lit")}, host.ErrNotHandled},
		{"domain sender without to", stanza.IQ{ID: "a", Type: stanza.GetIQ, From: jid.MustParse("capulet.lit")}, host.ErrNotHandled},
		{"result", stanza.IQ{ID: "a", Type: stanza.ResultIQ, From: jid.MustParse("romeo@montague.lit/orchard"), To: jid.MustParse("juliet@capulet.lit")}, host.ErrNotHandled},
		{"error", stanza.IQ{ID: "a", Type: stanza.ErrorIQ, From: jid.MustParse("romeo@montague.lit/orchard"), To: jid.MustParse("juliet@capulet.lit")}, host.ErrNotHandled},
		{"result without from", stanza.IQ{ID: "a", Type: stanza.ResultIQ, To: jid.MustParse("juliet@capulet.lit")}, host.ErrNotHandled},
		{"no addresses", stanza.IQ{ID: "a", Type: stanza.GetIQ}, host.ErrNoSender},
		{"to an account without from", stanza.IQ{ID: "a", Type: stanza.GetIQ, To: jid.MustParse("juliet@capulet.lit")}, host.ErrNoSender},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := testAccount(t).ServeIQ(t.Context(), tc.iq, failingReader{t}, host.RouteReplies(unusedRouter(t)))
			require.ErrorIs(t, err, tc.err)
		})
	}
}

func TestAccountNilPayload(t *testing.T) {
	rec := hosttest.NewRecorder(nil)
	iq := stanza.IQ{ID: "x", Type: stanza.GetIQ, From: jid.MustParse("juliet@capulet.lit/balcony")}
	require.Equal(t, `<iq type="error" to="juliet@capulet.lit/balcony" from="juliet@capulet.lit" id="x">`+
		errorXML("modify", "bad-request", "an IQ request needs a payload")+`</iq>`, answer(t, testAccount(t), rec, iq, nil))
}

func TestAccountRouteFails(t *testing.T) {
	down := errors.New("session gone")
	reply := func(context.Context, jid.JID, []byte) error { return down }
	iq := stanza.IQ{ID: "x", Type: stanza.GetIQ, From: jid.MustParse("juliet@capulet.lit/balcony")}
	require.ErrorIs(t, testAccount(t).ServeIQ(t.Context(), iq, tokensOf(query), reply), down)
}

func TestNewAccountRefusesIncompleteIdentity(t *testing.T) {
	for _, id := range []info.Identity{{Type: "pep"}, {Category: "pubsub"}} {
		a, err := disco.NewAccount(disco.AccountConfig{Identities: []info.Identity{id}})
		require.ErrorContains(t, err, "lacks its category or type")
		require.Nil(t, a)
	}
}

func TestAccountArchiveFeature(t *testing.T) {
	for _, tc := range []struct {
		name     string
		features disco.Features
		want     string
	}{
		{"without archive", disco.Features{}, `<feature var="urn:xmpp:mix:pam:2"></feature></query>`},
		{"with archive", disco.Features{Archive: true}, `<feature var="urn:xmpp:mix:pam:2"></feature><feature var="urn:xmpp:mix:pam:2#archive"></feature></query>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := hosttest.NewRecorder(nil)
			a, err := disco.NewAccount(disco.AccountConfig{Features: tc.features})
			require.NoError(t, err)
			iq := stanza.IQ{ID: "x", Type: stanza.GetIQ, From: jid.MustParse("juliet@capulet.lit/balcony")}
			require.Equal(t, `<iq type="result" to="juliet@capulet.lit/balcony" from="juliet@capulet.lit" id="x">`+
				`<query xmlns="http://jabber.org/protocol/disco#info">`+
				`<identity category="account" type="registered"></identity>`+
				`<feature var="http://jabber.org/protocol/disco#info"></feature>`+
				tc.want+`</iq>`, answer(t, a, rec, iq, tokensOf(query)))
		})
	}
}

func TestAccountAuthorizerArguments(t *testing.T) {
	var gotAccount, gotRequester string
	rec := hosttest.NewRecorder(nil)
	a, err := disco.NewAccount(disco.AccountConfig{
		Authorizer: disco.AuthorizerFunc(func(_ context.Context, account, requester jid.JID) (bool, error) {
			gotAccount, gotRequester = account.String(), requester.String()
			return false, nil
		}),
	})
	require.NoError(t, err)
	iq := stanza.IQ{ID: "x", Type: stanza.GetIQ, From: jid.MustParse("shakespeare.lit"), To: jid.MustParse("juliet@capulet.com")}
	answer(t, a, rec, iq, tokensOf(query))
	require.Equal(t, "juliet@capulet.com", gotAccount)
	require.Equal(t, "shakespeare.lit", gotRequester)
}
