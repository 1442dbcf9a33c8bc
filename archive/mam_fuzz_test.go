package archive

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
)

// FuzzMAMQuery feeds arbitrary IQ payloads to the MAM handler, as an
// xml.Decoder yields them. Whatever the payload, the handler must not panic
// and must answer exactly once: result messages (never more than the page
// size) and then one IQ, result or error, each a single well-formed element.
// The seed corpus in testdata/fuzz/FuzzMAMQuery holds the query payloads of
// XEP-0313's examples (§4, §4.1 with the #extended fields and
// include-groupchat, §4.3 with flipped pages, §6 metadata, sent as a get
// because its first byte is odd) and a few malformed ones.
func FuzzMAMQuery(f *testing.F) {
	e := newMAMEnv(f, MAMConfig{PageSize: 5, MaxPageSize: 10})
	e.fill(20)
	f.Fuzz(func(t *testing.T, payload []byte) {
		e.router.Reset()
		iq := stanza.IQ{ID: "q1", Type: stanza.SetIQ, From: mamRequester}
		if len(payload) > 0 && payload[0]&1 == 1 {
			iq.Type = stanza.GetIQ
		}
		err := e.handler.ServeIQ(context.Background(), iq, xml.NewDecoder(bytes.NewReader(payload)), host.RouteReplies(e.router))
		if err != nil {
			t.Fatalf("ServeIQ: %v", err)
		}
		ds := e.router.Deliveries()
		if len(ds) == 0 || len(ds) > 11 {
			t.Fatalf("%d deliveries", len(ds))
		}
		for i, d := range ds {
			name, err := mamSingleElement(d.Stanza)
			if err != nil {
				t.Fatalf("delivery %d: %v: %s", i, err, d.Stanza)
			}
			want := "message"
			if i == len(ds)-1 {
				want = "iq"
			}
			if name != want {
				t.Fatalf("delivery %d is <%s/>, want <%s/>", i, name, want)
			}
		}
	})
}

// mamSingleElement checks that raw is exactly one well-formed element, in a
// client stream, and returns its name.
func mamSingleElement(raw []byte) (string, error) {
	d := xml.NewDecoder(io.MultiReader(strings.NewReader(`<stream xmlns="jabber:client">`), bytes.NewReader(raw), strings.NewReader(`</stream>`)))
	if _, err := d.Token(); err != nil {
		return "", err
	}
	tok, err := d.Token()
	if err != nil {
		return "", err
	}
	start, ok := tok.(xml.StartElement)
	if !ok {
		return "", errNotOneElement
	}
	if err := d.Skip(); err != nil {
		return "", err
	}
	if tok, err = d.Token(); err != nil {
		return "", err
	}
	if _, ok := tok.(xml.EndElement); !ok {
		return "", errNotOneElement
	}
	return start.Name.Local, nil
}

const errNotOneElement = constError("not exactly one element")
