package presence

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"testing"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
	"github.com/mixpam/mixpam/internal/mixjid"
	"github.com/mixpam/mixpam/roster"
)

// FuzzInbound hands arbitrary presence to Inbound, as a host would after
// decoding its start element, with coven joined, one MIX-capable client and
// one that is not online. Seeds are in testdata/fuzz/FuzzInbound (the
// examples of XEP-0405 §2.9.2 and XEP-0403 §4, probes, errors, spoofs).
func FuzzInbound(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		d := xml.NewDecoder(bytes.NewReader(data))
		tok, err := d.Token()
		if err != nil {
			return
		}
		start, ok := tok.(xml.StartElement)
		if !ok || start.Name.Local != "presence" {
			return
		}
		p, err := stanza.NewPresence(start)
		if err != nil {
			return
		}

		ctx := context.Background()
		sessions := host.NewMemSessions()
		router := hosttest.NewRecorder(nil)
		rosters := roster.NewMemStore()
		user := jid.MustParse(userBare)
		if _, err := rosters.Put(ctx, user, roster.Item{JID: jid.MustParse(coven), Subscription: roster.From, Channel: true}); err != nil {
			t.Fatal(err)
		}
		h := newHandler(t, sessions, router, rosters, withCache(2, 3))
		for _, c := range []struct {
			full string
			mix  bool
		}{{mixClient, true}, {oldClient, false}} {
			session := jid.MustParse(c.full)
			sessions.Add(host.Resource{JID: session, MIXCapable: c.mix})
			if err := h.Outbound(ctx, stanza.Presence{From: session}, nil); err != nil {
				t.Fatal(err)
			}
		}
		router.Reset()
		before := h.Stats()

		handled := !errors.Is(h.Inbound(ctx, p, xmlstream.Inner(d)), host.ErrNotHandled)

		after := h.Stats()
		deliveries := router.Deliveries()
		fromCoven := mixjid.Channel(p.From).Equal(jid.MustParse(coven)) || p.From.Bare().Equal(jid.MustParse(coven))
		switch {
		case !handled && (len(deliveries) > 0 || after != before):
			t.Fatalf("presence left to the host changed something: %q, %+v", stanzas(deliveries), after)
		case !fromCoven && (len(deliveries) > 0 || after.Entries > 0):
			t.Fatalf("presence not from the joined channel went through: %q, %+v", stanzas(deliveries), after)
		case after.Entries > 1:
			t.Fatalf("one presence made %d cache entries", after.Entries)
		}
		for _, dv := range deliveries {
			checkWellFormed(t, dv.Stanza)
			switch dv.To.String() {
			case mixClient:
				// Channel presence passed on.
			case p.From.String():
				if p.Type != stanza.ProbePresence {
					t.Fatalf("answer to %s presence: %s", p.Type, dv.Stanza)
				}
			default:
				t.Fatalf("delivered to %s: %s", dv.To, dv.Stanza)
			}
		}
	})
}

// checkWellFormed fails unless raw is one well-formed element.
func checkWellFormed(t *testing.T, raw []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(raw))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("ill-formed delivery %q: %v", raw, err)
		}
	}
}

// stanzas returns the deliveries' stanzas, for messages.
func stanzas(ds []hosttest.Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, string(d.Stanza))
	}
	return out
}
