package archive

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
)

func TestMAMResultShape(t *testing.T) {
	e := newMAMEnv(t, MAMConfig{})
	e.fill(2)
	a := e.query("", "")
	require.Len(t, a.Results, 2)
	for i, r := range a.Results {
		require.Equal(t, mamRequester.String(), r.To)
		require.Equal(t, mamOwner.String(), r.From)
		require.Equal(t, "f27", *r.Result.QueryID)
		require.Equal(t, e.ids[i], r.Result.ID)
		stamp, err := time.Parse(time.RFC3339Nano, r.Result.Forwarded.Delay.Stamp)
		require.NoError(t, err)
		require.True(t, stamp.Equal(mamStamp(i)), "stamp %s", stamp)
		m := r.Result.Forwarded.Message
		require.NotNil(t, m, "the archived message, in jabber:client")
		require.Equal(t, fmt.Sprintf("message %d", i), m.Body)
		require.Equal(t, fmt.Sprintf("%s/p%d", mamChannel(i), i), m.From)
		require.Equal(t, mamOwner.String(), m.To)
		require.Equal(t, []mamSID{{By: mamOwner.String(), ID: e.ids[i]}}, m.SIDs)
	}
	require.Equal(t, "result", a.IQ.Type)
	require.NotNil(t, a.IQ.Fin)
	require.Equal(t, "true", a.IQ.Fin.Complete)
	require.Equal(t, e.ids[0], a.IQ.Fin.Set.First.ID)
	require.Equal(t, 0, *a.IQ.Fin.Set.First.Index)
	require.Equal(t, e.ids[1], *a.IQ.Fin.Set.Last)
	require.Equal(t, 2, a.IQ.Fin.Set.Count)
}

func TestMAMQueryWithoutQueryID(t *testing.T) {
	e := newMAMEnv(t, MAMConfig{})
	e.fill(1)
	a := e.serve(stanza.SetIQ, mamOwner.String(), `<query xmlns="urn:xmpp:mam:2"/>`)
	require.Len(t, a.Results, 1)
	require.Nil(t, a.Results[0].Result.QueryID, "no queryid attribute when the client gave none")
}

func TestMAMEmptyArchive(t *testing.T) {
	e := newMAMEnv(t, MAMConfig{})
	a := e.query("", "<max>10</max>")
	require.Empty(t, a.Results)
	require.Equal(t, "true", a.IQ.Fin.Complete)
	require.Nil(t, a.IQ.Fin.Set.First)
	require.Nil(t, a.IQ.Fin.Set.Last)
	require.Zero(t, a.IQ.Fin.Set.Count)
}

// mamFilter is one selection of the 1,000-message archive.
type mamFilter struct {
	name   string
	fields string
	keep   func(i int) bool
}

func mamFilters() []mamFilter {
	start, end := mamStamp(100).Format(time.RFC3339), mamStamp(799).Format(time.RFC3339)
	inWindow := func(i int) bool { return i >= 100 && i <= 799 }
	isCoven := func(i int) bool { return i%2 == 0 }
	return []mamFilter{
		{"everything", "", func(int) bool { return true }},
		{"with", `<field var="with"><value>coven@mix.shakespeare.example</value></field>`, isCoven},
		{"start", `<field var="start"><value>` + start + `</value></field>`, func(i int) bool { return i >= 100 }},
		{"end", `<field var="end"><value>` + end + `</value></field>`, func(i int) bool { return i <= 799 }},
		{"start and end", `<field var="start"><value>` + start + `</value></field><field var="end"><value>` + end + `</value></field>`, inWindow},
		{"with, start and end", `<field var="with"><value>coven@mix.shakespeare.example</value></field>` +
			`<field var="start"><value>` + start + `</value></field><field var="end"><value>` + end + `</value></field>`,
			func(i int) bool { return isCoven(i) && inWindow(i) }},
	}
}

func TestMAMPaging1000(t *testing.T) {
	const total, max = 1000, 73
	e := newMAMEnv(t, MAMConfig{})
	e.fill(total)
	for _, f := range mamFilters() {
		var want []string
		for i, id := range e.ids {
			if f.keep(i) {
				want = append(want, id)
			}
		}
		t.Run(f.name+"/forward", func(t *testing.T) {
			var got []string
			after := ""
			for page := 0; ; page++ {
				set := fmt.Sprintf("<max>%d</max>", max)
				if after != "" {
					set += "<after>" + after + "</after>"
				}
				a := e.query(f.fields, set)
				require.Empty(t, a.condition())
				require.Equal(t, len(want), a.IQ.Fin.Set.Count)
				ids := a.ids()
				require.Equal(t, ids[0], a.IQ.Fin.Set.First.ID)
				require.Equal(t, ids[len(ids)-1], *a.IQ.Fin.Set.Last)
				if page == 0 {
					require.Equal(t, 0, *a.IQ.Fin.Set.First.Index)
				}
				got = append(got, ids...)
				if a.IQ.Fin.Complete == "true" {
					break
				}
				require.Len(t, ids, max, "a page short of max must be complete")
				after = ids[len(ids)-1]
			}
			require.Equal(t, want, got)
		})
		t.Run(f.name+"/backward", func(t *testing.T) {
			var pages [][]string
			before := ""
			for page := 0; ; page++ {
				a := e.query(f.fields, fmt.Sprintf("<max>%d</max><before>%s</before>", max, before))
				require.Empty(t, a.condition())
				require.Equal(t, len(want), a.IQ.Fin.Set.Count)
				ids := a.ids()
				require.True(t, slices.IsSorted(ids), "a page is in chronological order also when paging backward")
				if page == 0 {
					require.Equal(t, len(want)-len(ids), *a.IQ.Fin.Set.First.Index, "index of the last page")
				}
				pages = append(pages, ids)
				if a.IQ.Fin.Complete == "true" {
					break
				}
				require.Len(t, ids, max)
				before = ids[0]
			}
			var got []string
			for i := len(pages) - 1; i >= 0; i-- {
				got = append(got, pages[i]...)
			}
			require.Equal(t, want, got)
		})
	}
}

func TestMAMPageSizes(t *testing.T) {
	tests := []struct {
		name    string
		cfg     MAMConfig
		set     string
		results int
	}{
		{"default page size", MAMConfig{}, "", DefaultPageSize},
		{"configured page size", MAMConfig{PageSize: 7}, "", 7},
		{"max asked", MAMConfig{}, "<max>12</max>", 12},
		{"max capped", MAMConfig{}, "<max>100000</max>", DefaultMaxPageSize},
		{"configured cap", MAMConfig{MaxPageSize: 20}, "<max>21</max>", 20},
		{"max 0 counts only", MAMConfig{}, "<max>0</max>", 0},
	}
	e := newMAMEnv(t, MAMConfig{})
	e.fill(300)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Store = e.store
			h := newMAMEnv(t, tc.cfg)
			a := h.query("", tc.set)
			require.Len(t, a.Results, tc.results)
			require.Equal(t, 300, a.IQ.Fin.Set.Count)
			require.Empty(t, a.IQ.Fin.Complete)
		})
	}
}

func TestMAMFormDiscovery(t *testing.T) {
	e := newMAMEnv(t, MAMConfig{})
	a := e.serve(stanza.GetIQ, "", `<query xmlns="urn:xmpp:mam:2"/>`)
	require.Empty(t, a.Results)
	require.Equal(t, "result", a.IQ.Type)
	require.NotNil(t, a.IQ.Query)
	require.Equal(t, "form", a.IQ.Query.Form.Type)
	var fields []string
	for _, f := range a.IQ.Query.Form.Fields {
		fields = append(fields, f.Var+" "+f.Type+" "+strings.Join(f.Values, ","))
	}
	require.Equal(t, []string{
		"FORM_TYPE hidden urn:xmpp:mam:2",
		"with jid-single ",
		"start text-single ",
		"end text-single ",
		"before-id text-single ",
		"after-id text-single ",
		"ids list-multi ",
		"include-groupchat boolean ",
	}, fields)
}

func TestMAMOnlyTheOwnerQueries(t *testing.T) {
	e := newMAMEnv(t, MAMConfig{})
	e.fill(3)
	for _, to := range []string{"romeo@montague.example", "capulet.example", "juliet@capulet.example/balcony", "coven@mix.shakespeare.example"} {
		t.Run(to, func(t *testing.T) {
			for _, typ := range []stanza.IQType{stanza.SetIQ, stanza.GetIQ} {
				a := e.serve(typ, to, `<query xmlns="urn:xmpp:mam:2"/>`)
				require.Empty(t, a.Results)
				require.Equal(t, stanza.Forbidden, a.condition())
				require.Equal(t, stanza.Auth, a.IQ.Error.Type)
			}
		})
	}
	a := e.serve(stanza.SetIQ, "juliet@capulet.example", `<query xmlns="urn:xmpp:mam:2"/>`)
	require.Len(t, a.Results, 3, "the owner's bare JID is the archive's address")
}

func TestMAMUnknownIDs(t *testing.T) {
	e := newMAMEnv(t, MAMConfig{})
	e.fill(10)
	for _, set := range []string{"<after>nope</after>", "<before>nope</before>", "<max>3</max><after>09af3-cc343-b409f</after>"} {
		a := e.query("", set)
		require.Empty(t, a.Results)
		require.Equal(t, stanza.ItemNotFound, a.condition(), set)
		require.Equal(t, stanza.Cancel, a.IQ.Error.Type)
	}
	// An id in the archive but outside the selection is known: XEP-0313
	// answers item-not-found only for ids "not present in the archive".
	a := e.query(`<field var="with"><value>spells@mix.shakespeare.example</value></field>`, "<after>"+e.ids[0]+"</after>")
	require.Nil(t, a.IQ.Error)
	var got []string
	for _, r := range a.Results {
		got = append(got, r.Result.ID)
	}
	require.Equal(t, []string{e.ids[1], e.ids[3], e.ids[5], e.ids[7], e.ids[9]}, got,
		"the records with spells after the first one (with coven)")
}

func TestMAMMalformedQueries(t *testing.T) {
	const (
		formOpen  = `<x xmlns="jabber:x:data" type="submit">`
		formClose = `</x>`
	)
	q := func(inner string) string { return `<query xmlns="urn:xmpp:mam:2">` + inner + `</query>` }
	tests := []struct {
		name    string
		payload string
		want    stanza.Condition
	}{
		{"no payload", ``, stanza.BadRequest},
		{"not a MAM query", `<query xmlns="urn:xmpp:mam:1"/>`, stanza.ServiceUnavailable},
		{"another payload", `<ping xmlns="urn:xmpp:ping"/>`, stanza.ServiceUnavailable},
		{"two queryids", `<query xmlns="urn:xmpp:mam:2" queryid="a" queryid="b"/>`, stanza.BadRequest},
		{"pubsub node", `<query xmlns="urn:xmpp:mam:2" node="urn:xmpp:mix:nodes:messages"/>`, stanza.FeatureNotImplemented},
		{"form not submit", q(`<x xmlns="jabber:x:data" type="form"/>`), stanza.BadRequest},
		{"form without type", q(`<x xmlns="jabber:x:data"/>`), stanza.BadRequest},
		{"two forms", q(formOpen + formClose + formOpen + formClose), stanza.BadRequest},
		{"wrong FORM_TYPE", q(formOpen + `<field var="FORM_TYPE"><value>urn:xmpp:mam:1</value></field>` + formClose), stanza.BadRequest},
		{"field without var", q(formOpen + `<field><value>x</value></field>` + formClose), stanza.BadRequest},
		{"field twice", q(formOpen + `<field var="with"><value>a@b</value></field><field var="with"><value>a@b</value></field>` + formClose), stanza.BadRequest},
		{"two values", q(formOpen + `<field var="start"><value>2010-06-07T00:00:00Z</value><value>2010-06-07T00:00:00Z</value></field>` + formClose), stanza.BadRequest},
		{"invalid with", q(formOpen + `<field var="with"><value>@@</value></field>` + formClose), stanza.BadRequest},
		{"full JID with", q(formOpen + `<field var="with"><value>coven@mix.shakespeare.example/123</value></field>` + formClose), stanza.FeatureNotImplemented},
		{"invalid start", q(formOpen + `<field var="start"><value>yesterday</value></field>` + formClose), stanza.BadRequest},
		{"start without zone", q(formOpen + `<field var="start"><value>2010-06-07T00:00:00</value></field>` + formClose), stanza.BadRequest},
		{"invalid end", q(formOpen + `<field var="end"><value>2010-13-07T00:00:00Z</value></field>` + formClose), stanza.BadRequest},
		{"element in a value", q(formOpen + `<field var="with"><value><b/></value></field>` + formClose), stanza.BadRequest},
		{"overlong value", q(formOpen + `<field var="with"><value>` + strings.Repeat("a", 4000) + `</value></field>` + formClose), stanza.BadRequest},
		{"unknown field", q(formOpen + `<field var="{http://example.com/}free-text-search"><value>x</value></field>` + formClose), stanza.FeatureNotImplemented},
		{"empty after-id", q(formOpen + `<field var="after-id"><value></value></field>` + formClose), stanza.BadRequest},
		{"empty before-id", q(formOpen + `<field var="before-id"><value/></field>` + formClose), stanza.BadRequest},
		{"two after-id values", q(formOpen + `<field var="after-id"><value>a</value><value>b</value></field>` + formClose), stanza.BadRequest},
		{"empty id in ids", q(formOpen + `<field var="ids"><value>a</value><value></value></field>` + formClose), stanza.BadRequest},
		{"too many ids", q(formOpen + `<field var="ids">` + strings.Repeat(`<value>a</value>`, maxMAMIDs+1) + `</field>` + formClose), stanza.PolicyViolation},
		{"include-groupchat not a boolean", q(formOpen + `<field var="include-groupchat"><value>yes</value></field>` + formClose), stanza.BadRequest},
		{"metadata with set", `<metadata xmlns="urn:xmpp:mam:2"/>`, stanza.BadRequest},
		{"metadata of another namespace", `<metadata xmlns="urn:xmpp:mam:1"/>`, stanza.ServiceUnavailable},
		{"two sets", q(`<set xmlns="http://jabber.org/protocol/rsm"/><set xmlns="http://jabber.org/protocol/rsm"/>`), stanza.BadRequest},
		{"negative max", q(`<set xmlns="http://jabber.org/protocol/rsm"><max>-1</max></set>`), stanza.BadRequest},
		{"max not a number", q(`<set xmlns="http://jabber.org/protocol/rsm"><max>ten</max></set>`), stanza.BadRequest},
		{"max too large", q(`<set xmlns="http://jabber.org/protocol/rsm"><max>99999999999999999999</max></set>`), stanza.BadRequest},
		{"max twice", q(`<set xmlns="http://jabber.org/protocol/rsm"><max>1</max><max>2</max></set>`), stanza.BadRequest},
		{"empty after", q(`<set xmlns="http://jabber.org/protocol/rsm"><after/></set>`), stanza.BadRequest},
		{"after and before", q(`<set xmlns="http://jabber.org/protocol/rsm"><after>a</after><before>b</before></set>`), stanza.BadRequest},
		{"after and empty before", q(`<set xmlns="http://jabber.org/protocol/rsm"><after>a</after><before/></set>`), stanza.BadRequest},
		{"index", q(`<set xmlns="http://jabber.org/protocol/rsm"><index>3</index></set>`), stanza.FeatureNotImplemented},
		{"element in max", q(`<set xmlns="http://jabber.org/protocol/rsm"><max><i/></max></set>`), stanza.BadRequest},
		{"query cut short", `<query xmlns="urn:xmpp:mam:2"><set xmlns="http://jabber.org/protocol/rsm"><max>1</max>`, stanza.BadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newMAMEnv(t, MAMConfig{})
			e.fill(3)
			var a mamAnswers
			if tc.name == "query cut short" {
				a = e.serveRaw(tc.payload)
			} else {
				a = e.serve(stanza.SetIQ, "", tc.payload)
			}
			require.Empty(t, a.Results)
			require.Equal(t, "error", a.IQ.Type)
			require.Equal(t, tc.want, a.condition())
			require.NotEmpty(t, a.IQ.Error.Text[""], "a human-readable text")
		})
	}
}

// serveRaw hands the handler exactly the tokens of payload, which need not
// be complete.
func (e *mamEnv) serveRaw(payload string) mamAnswers {
	e.t.Helper()
	e.router.Reset()
	d := xml.NewDecoder(strings.NewReader(payload))
	require.NoError(e.t, e.handler.ServeIQ(context.Background(), stanza.IQ{ID: "q1", Type: stanza.SetIQ, From: mamRequester}, d, host.RouteReplies(e.router)))
	a := parseMAMAnswers(e.t, e.router.Deliveries())
	require.Equal(e.t, mamOwner.String(), a.IQ.From, "the answer to a query without to comes from the owner's bare JID")
	return a
}

func TestMAMIgnoresUnknownExtensions(t *testing.T) {
	e := newMAMEnv(t, MAMConfig{})
	e.fill(3)
	a := e.serve(stanza.SetIQ, "", `<query xmlns="urn:xmpp:mam:2"><extra xmlns="urn:example"><deep/></extra>`+
		`<x xmlns="jabber:x:data" type="submit"><title>t</title><field var="with"/></x>`+
		`<set xmlns="http://jabber.org/protocol/rsm"><count>9</count><max> 2 </max></set></query>`)
	require.Empty(t, a.condition())
	require.Len(t, a.Results, 2)
	require.Equal(t, 3, a.IQ.Fin.Set.Count)
}

// mamFailingStore fails every query.
type mamFailingStore struct{ *MemStore }

func (mamFailingStore) Query(context.Context, jid.JID, Query) (Page, error) {
	return Page{}, errors.New("database down")
}

func TestMAMStoreFailure(t *testing.T) {
	logs := &mamLogs{}
	e := newMAMEnv(t, MAMConfig{Store: mamFailingStore{NewMemStore()}, Logger: slog.New(logs)})
	a := e.query("", "")
	require.Equal(t, stanza.InternalServerError, a.condition())
	require.Equal(t, 1, logs.n)
}

type mamLogs struct{ n int }

func (l *mamLogs) Enabled(context.Context, slog.Level) bool  { return true }
func (l *mamLogs) Handle(context.Context, slog.Record) error { l.n++; return nil }
func (l *mamLogs) WithAttrs([]slog.Attr) slog.Handler        { return l }
func (l *mamLogs) WithGroup(string) slog.Handler             { return l }

func TestMAMCorruptRecord(t *testing.T) {
	e := newMAMEnv(t, MAMConfig{})
	require.NoError(t, e.store.Append(context.Background(), mamOwner, Record{ID: "a", With: mamCoven, Time: mamEpoch, Stanza: []byte("not xml")}))
	a := e.query("", "")
	require.Len(t, a.Results, 1)
	require.Nil(t, a.Results[0].Result.Forwarded.Message, "left out, with its id and stamp")
	require.Equal(t, "a", a.Results[0].Result.ID)
}

func TestMAMIgnoresAnswers(t *testing.T) {
	e := newMAMEnv(t, MAMConfig{})
	for _, typ := range []stanza.IQType{stanza.ResultIQ, stanza.ErrorIQ} {
		iq := stanza.IQ{ID: "q1", Type: typ, From: mamRequester}
		require.NoError(t, e.handler.ServeIQ(context.Background(), iq, xml.NewDecoder(strings.NewReader("")), host.RouteReplies(e.router)))
	}
	require.Empty(t, e.router.Deliveries())
}

func TestMAMNeedsTheRequester(t *testing.T) {
	e := newMAMEnv(t, MAMConfig{})
	iq := stanza.IQ{ID: "q1", Type: stanza.SetIQ}
	err := e.handler.ServeIQ(context.Background(), iq, xml.NewDecoder(strings.NewReader(`<query xmlns="urn:xmpp:mam:2"/>`)), host.RouteReplies(e.router))
	require.ErrorIs(t, err, host.ErrNoSender)
	require.Empty(t, e.router.Deliveries())
}

// A query from a bare JID or a server (another server's, say) is not from
// a session of the owner: it is answered forbidden (RFC 6120 §8.2.3: every
// request gets an answer), from the JID it was addressed to.
func TestMAMFromNoSession(t *testing.T) {
	e := newMAMEnv(t, MAMConfig{})
	e.fill(2)
	for _, from := range []string{"juliet@capulet.example", "romeo@montague.example", "montague.example", "montague.example/res"} {
		t.Run(from, func(t *testing.T) {
			e.router.Reset()
			iq := stanza.IQ{ID: "q1", Type: stanza.SetIQ, From: jid.MustParse(from), To: mamOwner}
			require.NoError(t, e.handler.ServeIQ(context.Background(), iq, xml.NewDecoder(strings.NewReader(`<query xmlns="urn:xmpp:mam:2"/>`)), host.RouteReplies(e.router)))
			ds := e.router.Deliveries()
			require.Len(t, ds, 1, "one answer, no results")
			s := string(ds[0].Stanza)
			require.Contains(t, s, `type="error"`)
			require.Contains(t, s, `<forbidden xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">`)
			require.Contains(t, s, `from="`+mamOwner.String()+`"`)
			require.Equal(t, from, ds[0].To.String())
		})
	}
}

// mamBrokenRouter fails every delivery.
type mamBrokenRouter struct{}

func (mamBrokenRouter) Route(context.Context, jid.JID, xml.TokenReader) error {
	return errors.New("session gone")
}

func TestMAMRouterFailure(t *testing.T) {
	h, err := NewMAMHandler(MAMConfig{Store: NewMemStore()})
	require.NoError(t, err)
	iq := stanza.IQ{ID: "q1", Type: stanza.SetIQ, From: mamRequester}
	err = h.ServeIQ(context.Background(), iq, xml.NewDecoder(strings.NewReader(`<query xmlns="urn:xmpp:mam:2"/>`)), host.RouteReplies(mamBrokenRouter{}))
	require.ErrorContains(t, err, "session gone")
}

func TestNewMAMHandlerChecksItsConfig(t *testing.T) {
	for _, tc := range []struct {
		c    MAMConfig
		want string
	}{
		{MAMConfig{}, "MAMConfig.Store is required"},
		{MAMConfig{Store: NewMemStore(), PageSize: -1}, "must not be negative"},
		{MAMConfig{Store: NewMemStore(), PageSize: 30, MaxPageSize: 20}, "exceeds MaxPageSize"},
	} {
		h, err := NewMAMHandler(tc.c)
		require.ErrorContains(t, err, tc.want)
		require.Nil(t, h)
	}
}

func TestMAMFeatures(t *testing.T) {
	e := newMAMEnv(t, MAMConfig{})
	var got []string
	require.NoError(t, e.handler.ForFeatures("", func(f info.Feature) error {
		got = append(got, f.Var)
		return nil
	}))
	require.Equal(t, []string{"urn:xmpp:mam:2", "urn:xmpp:mam:2#extended", "urn:xmpp:mam:2#groupchat-field", "urn:xmpp:mam:2#groupchat-available"}, got)
	require.Equal(t, got, MAMFeatures())
}
