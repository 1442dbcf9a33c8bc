package pam

import (
	"bytes"
	"context"
	"encoding/xml"
	"testing"

	"github.com/mixpam/mixpam/archive"
)

// FuzzFanOut feeds arbitrary message stanzas, as an xml.Decoder yields them,
// to the fan-out of a user who has joined coven@mix.shakespeare.example and
// has two MIX-capable resources online and one that is not. Whatever the
// stanza, ServeMessage must not panic, and every copy it archives or
// delivers must be exactly one well-formed element without repeated
// attributes, with exactly one to (the user's bare JID in the archive, the
// resource's full JID in a live copy) and, as its last child, the one
// stanza-id by the user. The seed corpus in testdata/fuzz/FuzzFanOut holds
// XEP-0405's and XEP-0369's example messages and the tricky cases of the
// unit tests.
func FuzzFanOut(f *testing.F) {
	e := newFanOutEnv(f)
	clients := []string{e.online("UUID-x4r/2491", true).String(), e.online("UUID-b5b/0114", true).String()}
	e.online("legacy", false)
	f.Fuzz(func(t *testing.T, raw []byte) {
		e.router.Reset()
		*e.archive = *archive.NewMemStore()
		d := xml.NewDecoder(bytes.NewReader(raw))
		tok, err := d.Token()
		start, ok := tok.(xml.StartElement)
		if err != nil || !ok {
			return
		}
		res, _ := e.fanOut.ServeMessage(context.Background(), start, d)

		page, err := e.archive.Query(context.Background(), fanOutUser, archive.Query{Max: 10})
		if err != nil {
			t.Fatal(err)
		}
		recs := page.Records
		deliveries := e.router.Deliveries()
		if res.Action != FanOutAccepted {
			if len(recs) != 0 || len(deliveries) != 0 {
				t.Fatalf("%v message archived or delivered", res.Action)
			}
			return
		}
		if len(recs) != 1 {
			t.Fatalf("%d records", len(recs))
		}
		fanOutCheckCopy(t, recs[0].Stanza, fanOutUserBare, res.ID)
		if len(deliveries) != len(clients) {
			t.Fatalf("%d deliveries", len(deliveries))
		}
		for i, d := range deliveries {
			if d.To.String() != clients[i] {
				t.Fatalf("delivery %d to %s", i, d.To)
			}
			fanOutCheckCopy(t, d.Stanza, clients[i], res.ID)
		}
	})
}

// fanOutCheckCopy checks the invariants of one copy: see FuzzFanOut.
func fanOutCheckCopy(t *testing.T, raw []byte, to, id string) {
	t.Helper()
	el, err := fanOutParse(raw)
	if err != nil {
		t.Fatalf("not one well-formed element: %v: %s", err, raw)
	}
	if len(el.Attr) == 0 || el.Attr[fanOutToName] != to {
		t.Fatalf("to is %q, want %q: %s", el.Attr[fanOutToName], to, raw)
	}
	if n := bytes.Count(raw[:bytes.IndexByte(raw, '>')], []byte(` to="`)); n != 1 {
		t.Fatalf("%d to attributes: %s", n, raw)
	}
	var ours int
	for _, c := range el.Children {
		if c.Name == fanOutSIDName && c.Attr[fanOutByName] == fanOutUserBare {
			ours++
		}
	}
	if ours != 1 {
		t.Fatalf("%d stanza-ids by the user: %s", ours, raw)
	}
	last := el.Children[len(el.Children)-1]
	if last.Name != fanOutSIDName || last.Attr[fanOutByName] != fanOutUserBare || last.Attr[fanOutIDName] != id {
		t.Fatalf("not exactly one stanza-id by the user, last, with id %s: %s", id, raw)
	}
}
