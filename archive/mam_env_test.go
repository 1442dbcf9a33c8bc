package archive

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
)

// The MAM tests' cast.
var (
	mamOwner     = jid.MustParse("juliet@capulet.example")
	mamRequester = jid.MustParse("juliet@capulet.example/balcony")
	mamCoven     = jid.MustParse("coven@mix.shakespeare.example")
	mamSpells    = jid.MustParse("spells@mix.shakespeare.example")
	mamEpoch     = time.Date(2010, 7, 10, 23, 8, 25, 0, time.UTC)
)

// mamEnv is a MAMHandler over a MemStore, answering through a Recorder.
type mamEnv struct {
	t       testing.TB
	store   *MemStore
	router  *hosttest.Recorder
	handler *MAMHandler
	ids     []string // the records appended by fill, in order
}

func newMAMEnv(t testing.TB, cfg MAMConfig) *mamEnv {
	t.Helper()
	e := &mamEnv{t: t, store: NewMemStore(), router: hosttest.NewRecorder(nil)}
	if cfg.Store == nil {
		cfg.Store = e.store
	}
	var err error
	e.handler, err = NewMAMHandler(cfg)
	require.NoError(t, err)
	return e
}

// fill archives n messages, one a second from mamEpoch, alternately from
// coven and spells, with ids from an IDGenerator.
func (e *mamEnv) fill(n int) {
	e.t.Helper()
	clock := mamEpoch
	g := &IDGenerator{Now: func() time.Time { clock = clock.Add(time.Second); return clock }}
	for i := range n {
		id, stamp := g.Next()
		with := mamChannel(i)
		raw := fmt.Sprintf(`<message to="juliet@capulet.example" from="%s/p%d" id="m%d" type="groupchat">`+
			`<body>message %d</body><stanza-id xmlns="urn:xmpp:sid:0" by="juliet@capulet.example" id="%s"></stanza-id></message>`,
			with, i, i, i, id)
		require.NoError(e.t, e.store.Append(context.Background(), mamOwner, Record{ID: id, With: with, Time: stamp, Stanza: []byte(raw)}))
		e.ids = append(e.ids, id)
	}
}

// mamChannel is the channel of the i-th message fill archives.
func mamChannel(i int) jid.JID {
	if i%2 == 0 {
		return mamCoven
	}
	return mamSpells
}

// mamStamp is the time of the i-th message fill archives.
func mamStamp(i int) time.Time { return mamEpoch.Add(time.Duration(i+1) * time.Second) }

// serve sends an IQ from the requester with the given payload and returns
// what was routed in answer.
func (e *mamEnv) serve(typ stanza.IQType, to, payload string) mamAnswers {
	e.t.Helper()
	e.router.Reset()
	iq := stanza.IQ{ID: "q1", Type: typ, From: mamRequester}
	if to != "" {
		iq.To = jid.MustParse(to)
	}
	d := xml.NewDecoder(strings.NewReader(`<iq xmlns="jabber:client">` + payload + `</iq>`))
	_, err := d.Token()
	require.NoError(e.t, err)
	require.NoError(e.t, e.handler.ServeIQ(context.Background(), iq, d, host.RouteReplies(e.router)))
	a := parseMAMAnswers(e.t, e.router.Deliveries())
	// The answer comes from the entity the query was addressed to, the
	// owner's archive when it had no to.
	from := mamOwner.String()
	if to != "" {
		from = to
	}
	require.Equal(e.t, from, a.IQ.From, "the answer's from")
	return a
}

// query pages with the form fields and RSM set given as XML.
func (e *mamEnv) query(fields, set string) mamAnswers {
	e.t.Helper()
	payload := `<query xmlns="urn:xmpp:mam:2" queryid="f27">`
	if fields != "" {
		payload += `<x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE" type="hidden"><value>urn:xmpp:mam:2</value></field>` + fields + `</x>`
	}
	if set != "" {
		payload += `<set xmlns="http://jabber.org/protocol/rsm">` + set + `</set>`
	}
	return e.serve(stanza.SetIQ, "", payload+`</query>`)
}

// mamAnswers are the stanzas routed in answer to one IQ.
type mamAnswers struct {
	Results []mamResult
	IQ      mamIQ
}

type mamResult struct {
	XMLName xml.Name `xml:"jabber:client message"`
	To      string   `xml:"to,attr"`
	From    string   `xml:"from,attr"`
	Result  struct {
		QueryID   *string `xml:"queryid,attr"`
		ID        string  `xml:"id,attr"`
		Forwarded struct {
			Delay struct {
				Stamp string `xml:"stamp,attr"`
			} `xml:"urn:xmpp:delay delay"`
			Message *struct {
				From string   `xml:"from,attr"`
				To   string   `xml:"to,attr"`
				Body string   `xml:"jabber:client body"`
				SIDs []mamSID `xml:"urn:xmpp:sid:0 stanza-id"`
			} `xml:"jabber:client message"`
		} `xml:"urn:xmpp:forward:0 forwarded"`
	} `xml:"urn:xmpp:mam:2 result"`
}

type mamSID struct {
	By string `xml:"by,attr"`
	ID string `xml:"id,attr"`
}

type mamIQ struct {
	XMLName xml.Name `xml:"jabber:client iq"`
	Type    string   `xml:"type,attr"`
	ID      string   `xml:"id,attr"`
	From    string   `xml:"from,attr"`
	To      string   `xml:"to,attr"`
	Fin     *struct {
		Complete string `xml:"complete,attr"`
		Set      struct {
			First *struct {
				Index *int   `xml:"index,attr"`
				ID    string `xml:",chardata"`
			} `xml:"http://jabber.org/protocol/rsm first"`
			Last  *string `xml:"http://jabber.org/protocol/rsm last"`
			Count int     `xml:"http://jabber.org/protocol/rsm count"`
		} `xml:"http://jabber.org/protocol/rsm set"`
	} `xml:"urn:xmpp:mam:2 fin"`
	Query *struct {
		Form struct {
			Type   string `xml:"type,attr"`
			Fields []struct {
				Var    string   `xml:"var,attr"`
				Type   string   `xml:"type,attr"`
				Values []string `xml:"jabber:x:data value"`
			} `xml:"jabber:x:data field"`
		} `xml:"jabber:x:data x"`
	} `xml:"urn:xmpp:mam:2 query"`
	Metadata *struct {
		Start *mamMetadataRecord `xml:"urn:xmpp:mam:2 start"`
		End   *mamMetadataRecord `xml:"urn:xmpp:mam:2 end"`
	} `xml:"urn:xmpp:mam:2 metadata"`
	Error *stanza.Error `xml:"jabber:client error"`
}

type mamMetadataRecord struct {
	ID        string `xml:"id,attr"`
	Timestamp string `xml:"timestamp,attr"`
}

// ids returns the result ids.
func (a mamAnswers) ids() []string {
	out := make([]string, 0, len(a.Results))
	for _, r := range a.Results {
		out = append(out, r.Result.ID)
	}
	return out
}

// condition returns the error condition of the answer, or "" for a result.
func (a mamAnswers) condition() stanza.Condition {
	if a.IQ.Error == nil {
		return ""
	}
	return a.IQ.Error.Condition
}

// parseMAMAnswers decodes the deliveries: result messages, then exactly one
// IQ, every one a well-formed stanza addressed to the requester.
func parseMAMAnswers(t testing.TB, ds []hosttest.Delivery) mamAnswers {
	t.Helper()
	require.NotEmpty(t, ds, "no answer")
	var a mamAnswers
	for i, d := range ds {
		require.True(t, d.To.Equal(mamRequester), "delivery %d to %s", i, d.To)
		dec := xml.NewDecoder(io.MultiReader(strings.NewReader(`<stream xmlns="jabber:client">`), bytes.NewReader(d.Stanza), strings.NewReader(`</stream>`)))
		_, err := dec.Token()
		require.NoError(t, err)
		if i < len(ds)-1 {
			var r mamResult
			require.NoError(t, dec.Decode(&r), "%s", d.Stanza)
			a.Results = append(a.Results, r)
		} else {
			require.NoError(t, dec.Decode(&a.IQ), "%s", d.Stanza)
			require.Equal(t, "q1", a.IQ.ID)
			require.Equal(t, mamRequester.String(), a.IQ.To)
		}
		_, err = dec.Token() // </stream>
		require.NoError(t, err, "trailing data in %s", d.Stanza)
		_, err = dec.Token()
		require.ErrorIs(t, err, io.EOF, "more than one element in %s", d.Stanza)
	}
	return a
}
