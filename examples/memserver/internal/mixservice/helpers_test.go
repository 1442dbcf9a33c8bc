package mixservice

import (
	"bytes"
	"context"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host/hosttest"
)

// Addresses of the XEP-0369 examples.
const (
	service   = "mix.shakespeare.example"
	coven     = "coven@mix.shakespeare.example"
	hag66     = "hag66@shakespeare.example"
	hag66Res  = hag66 + "/UUID-a1j/7533"
	hecate    = "hecate@shakespeare.example"
	hecateRes = hecate + "/UUID-x4r/2491"
	peter     = "peter@shakespeare.example"
	peterRes  = peter + "/pda"
)

// allNodes subscribes a join to every node.
const allNodes = `<subscribe node='urn:xmpp:mix:nodes:messages'/>` +
	`<subscribe node='urn:xmpp:mix:nodes:presence'/>` +
	`<subscribe node='urn:xmpp:mix:nodes:participants'/>` +
	`<subscribe node='urn:xmpp:mix:nodes:info'/>`

// harness drives a Service whose Router is a Recorder.
type harness struct {
	t   testing.TB
	rec *hosttest.Recorder
	svc *Service
}

// newHarness returns a harness on a service for the XEP examples' domain,
// with a fixed secret and limits (zero fields take the defaults).
func newHarness(t testing.TB, limits Limits) *harness {
	t.Helper()
	rec := hosttest.NewRecorder(nil)
	svc := New(Config{Domain: service, Router: rec, Secret: []byte("test secret"), Limits: limits})
	return &harness{t: t, rec: rec, svc: svc}
}

// deliver hands raw to the service, requires it to take it, and returns
// what the service routed because of it (everything it routes goes out
// before Deliver returns when no other Deliver is running).
func (h *harness) deliver(raw string) []stanzaOut {
	h.t.Helper()
	before := len(h.rec.Deliveries())
	require.NoError(h.t, h.svc.Deliver(context.Background(), []byte(raw)), raw)
	var out []stanzaOut
	for _, d := range h.rec.Deliveries()[before:] {
		out = append(out, parseOut(h.t, d))
	}
	return out
}

// create creates channel name, owned by owner.
func (h *harness) create(name, owner string) {
	h.t.Helper()
	out := h.deliver(`<iq type='set' id='create-` + name + `' from='` + owner + `' to='` + service + `'><create xmlns='urn:xmpp:mix:core:1' channel='` + name + `'/></iq>`)
	require.Len(h.t, out, 1)
	out[0].requireResult(h.t, "create-"+name)
}

// join makes user (a bare JID) join channel with nick and the subscribe
// elements nodes, requires a result and returns the participant id and
// everything routed.
func (h *harness) join(channel, user, nick, nodes string) (string, []stanzaOut) {
	h.t.Helper()
	out := h.deliver(`<iq type='set' id='join-` + nick + `' from='` + user + `' to='` + channel + `'><join xmlns='urn:xmpp:mix:core:1'>` + nodes + `<nick>` + nick + `</nick></join></iq>`)
	require.NotEmpty(h.t, out)
	out[0].requireResult(h.t, "join-"+nick)
	return out[0].child("join").attr("id"), out
}

// stanzaOut is a routed stanza, parsed.
type stanzaOut struct {
	to  jid.JID
	raw string
	elem
}

// elem is an XML element, for assertions.
type elem struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Children []elem     `xml:",any"`
	Text     string     `xml:",chardata"`
}

// parseOut parses a delivery and checks what RouteRaw requires of it: one
// well-formed stanza, no xmlns on the top-level element, its to attribute
// the JID it was routed to.
func parseOut(t testing.TB, d hosttest.Delivery) stanzaOut {
	t.Helper()
	var e elem
	require.NoError(t, xml.Unmarshal(d.Stanza, &e), string(d.Stanza))
	require.False(t, bytes.HasPrefix(d.Stanza, []byte("<"+e.XMLName.Local+" xmlns=")), "top-level xmlns: %s", d.Stanza)
	require.Empty(t, e.XMLName.Space, string(d.Stanza))
	require.Equal(t, d.To.String(), e.attr("to"), "to attribute of %s", d.Stanza)
	return stanzaOut{to: d.To, raw: string(d.Stanza), elem: e}
}

// attr returns the value of the attribute local (in no namespace), or "".
func (e elem) attr(local string) string {
	for _, a := range e.Attrs {
		if a.Name.Space == "" && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// child returns the first child called local (any namespace), or a zero
// elem.
func (e elem) child(local string) elem {
	for _, c := range e.Children {
		if c.XMLName.Local == local {
			return c
		}
	}
	return elem{}
}

// path follows child for each name.
func (e elem) path(names ...string) elem {
	for _, n := range names {
		e = e.child(n)
	}
	return e
}

// all returns the children called local.
func (e elem) all(local string) []elem {
	var out []elem
	for _, c := range e.Children {
		if c.XMLName.Local == local {
			out = append(out, c)
		}
	}
	return out
}

// requireResult requires an IQ result with id.
func (s stanzaOut) requireResult(t testing.TB, id string) {
	t.Helper()
	require.Equal(t, "iq", s.XMLName.Local, s.raw)
	require.Equal(t, "result", s.attr("type"), s.raw)
	require.Equal(t, id, s.attr("id"), s.raw)
}

// requireError requires an error stanza of kind with id and condition
// cond, with a text.
func (s stanzaOut) requireError(t testing.TB, kind, id, cond string) {
	t.Helper()
	require.Equal(t, kind, s.XMLName.Local, s.raw)
	require.Equal(t, "error", s.attr("type"), s.raw)
	require.Equal(t, id, s.attr("id"), s.raw)
	e := s.child("error")
	require.NotEmpty(t, e.attr("type"), s.raw)
	require.Equal(t, "urn:ietf:params:xml:ns:xmpp-stanzas", e.child(cond).XMLName.Space, "condition %s in %s", cond, s.raw)
	require.NotEmpty(t, strings.TrimSpace(e.child("text").Text), "error text in %s", s.raw)
}

// to returns the stanzas routed to j.
func to(out []stanzaOut, j string) []stanzaOut {
	var got []stanzaOut
	for _, s := range out {
		if s.to.String() == j {
			got = append(got, s)
		}
	}
	return got
}

// kinds returns the stanzas of kind.
func kinds(out []stanzaOut, kind string) []stanzaOut {
	var got []stanzaOut
	for _, s := range out {
		if s.XMLName.Local == kind {
			got = append(got, s)
		}
	}
	return got
}

// recipients returns the to of each stanza.
func recipients(out []stanzaOut) []string {
	var got []string
	for _, s := range out {
		got = append(got, s.to.String())
	}
	return got
}
