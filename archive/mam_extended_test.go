package archive

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
)

// TestMAMExtendedQueries covers the fields of urn:xmpp:mam:2#extended
// (XEP-0313 §4.1.3), include-groupchat (§4.1.4) and flipped pages (§4.3.3)
// over an archive of ten messages, alternately from coven (even) and spells
// (odd).
func TestMAMExtendedQueries(t *testing.T) {
	e := newMAMEnv(t, MAMConfig{})
	e.fill(10)
	field := func(name string, values ...string) string {
		f := `<field var="` + name + `">`
		for _, v := range values {
			f += `<value>` + v + `</value>`
		}
		return f + `</field>`
	}
	id := func(i int) string { return e.ids[i] }
	span := func(from, to int) []int {
		var out []int
		for i := from; i < to; i++ {
			out = append(out, i)
		}
		return out
	}
	tests := []struct {
		name     string
		fields   string
		set      string
		flip     bool
		want     []int // indexes into e.ids, in the order sent
		count    int
		index    int // of <first/>, -1 when not given
		complete bool
		cond     stanza.Condition
	}{
		{name: "after-id", fields: field("after-id", id(3)), want: span(4, 10), count: 6, complete: true},
		{name: "before-id", fields: field("before-id", id(3)), want: span(0, 3), count: 3, complete: true},
		{name: "between after-id and before-id", fields: field("after-id", id(2)) + field("before-id", id(6)), want: span(3, 6), count: 3, complete: true},
		{name: "after-id not before before-id", fields: field("after-id", id(6)) + field("before-id", id(2)), count: 0, complete: true},
		{name: "after-id with", fields: field("after-id", id(3)) + field("with", mamCoven.String()), want: []int{4, 6, 8}, count: 3, complete: true},
		{name: "after-id pages forward with RSM", fields: field("after-id", id(1)), set: `<max>3</max>`, want: span(2, 5), count: 8},
		{name: "after-id and RSM after", fields: field("after-id", id(1)), set: `<max>3</max><after>` + id(4) + `</after>`, want: span(5, 8), count: 8, index: -1},
		{name: "before-id does not page backward", fields: field("before-id", id(8)), set: `<max>3</max>`, want: span(0, 3), count: 8},
		{name: "before-id and the last page", fields: field("before-id", id(8)), set: `<max>3</max><before/>`, want: span(5, 8), count: 8, index: 5},
		{name: "one id", fields: field("ids", id(5)), want: []int{5}, count: 1, complete: true},
		{name: "ids in any order, repeated", fields: field("ids", id(7), id(2), id(7)), want: []int{2, 7}, count: 2, complete: true},
		{name: "ids and with", fields: field("ids", id(4), id(5)) + field("with", mamCoven.String()), want: []int{4}, count: 1, complete: true},
		{name: "ids and after-id", fields: field("ids", id(1), id(5)) + field("after-id", id(3)), want: []int{5}, count: 1, complete: true},
		{name: "unknown after-id", fields: field("after-id", "09af3-cc343-b409f"), cond: stanza.ItemNotFound},
		{name: "unknown before-id", fields: field("before-id", "09af3-cc343-b409f"), cond: stanza.ItemNotFound},
		{name: "one unknown id", fields: field("ids", id(1), "28482-98726-73623"), cond: stanza.ItemNotFound},
		{name: "include-groupchat true", fields: field("include-groupchat", "true"), want: span(0, 10), count: 10, complete: true},
		{name: "include-groupchat 1", fields: field("include-groupchat", "1"), set: `<max>2</max>`, want: span(0, 2), count: 10},
		{name: "include-groupchat false: nothing but groupchat here", fields: field("include-groupchat", "false"), count: 0, complete: true},
		{name: "include-groupchat 0 still checks ids", fields: field("include-groupchat", "0") + field("after-id", "nope"), cond: stanza.ItemNotFound},
		{name: "flipped page", set: `<max>3</max>`, flip: true, want: []int{2, 1, 0}, count: 10},
		{name: "flipped last page", set: `<max>3</max><before/>`, flip: true, want: []int{9, 8, 7}, count: 10, index: 7},
		{name: "flipped with ids", fields: field("ids", id(3), id(4)), flip: true, want: []int{4, 3}, count: 2, complete: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payload := `<query xmlns="urn:xmpp:mam:2" queryid="f27">`
			if tc.fields != "" {
				payload += `<x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE" type="hidden"><value>urn:xmpp:mam:2</value></field>` + tc.fields + `</x>`
			}
			if tc.set != "" {
				payload += `<set xmlns="http://jabber.org/protocol/rsm">` + tc.set + `</set>`
			}
			if tc.flip {
				payload += `<flip-page/>`
			}
			a := e.serve(stanza.SetIQ, "", payload+`</query>`)
			require.Equal(t, tc.cond, a.condition())
			if tc.cond != "" {
				require.Empty(t, a.Results)
				require.Equal(t, stanza.Cancel, a.IQ.Error.Type)
				return
			}
			want := []string{}
			for _, i := range tc.want {
				want = append(want, e.ids[i])
			}
			require.Equal(t, want, a.ids())
			set := a.IQ.Fin.Set
			require.Equal(t, tc.count, set.Count)
			require.Equal(t, tc.complete, a.IQ.Fin.Complete == "true", "complete")
			if len(want) == 0 {
				require.Nil(t, set.First)
				return
			}
			oldest, newest := want[0], want[len(want)-1]
			if tc.flip {
				oldest, newest = newest, oldest
			}
			require.Equal(t, oldest, set.First.ID, "<first/> is the page's oldest, flipped or not")
			require.Equal(t, newest, *set.Last)
			if tc.index >= 0 {
				require.NotNil(t, set.First.Index)
				require.Equal(t, tc.index, *set.First.Index)
			} else {
				require.Nil(t, set.First.Index)
			}
		})
	}
}

// TestMAMMetadata covers the archive metadata query (XEP-0313 §6).
func TestMAMMetadata(t *testing.T) {
	const request = `<metadata xmlns="urn:xmpp:mam:2"/>`
	tests := []struct {
		name   string
		fill   int
		to     string
		store  Store
		start  int // index into the env's ids; -1 for an empty archive
		end    int
		cond   stanza.Condition
		errTyp stanza.ErrorType
	}{
		{name: "empty archive", start: -1},
		{name: "one message", fill: 1, start: 0, end: 0},
		{name: "first and last", fill: 7, start: 0, end: 6},
		{name: "to the bare JID", fill: 2, to: mamOwner.String(), start: 0, end: 1},
		{name: "another user's archive", fill: 2, to: "romeo@montague.example", cond: stanza.Forbidden, errTyp: stanza.Auth},
		{name: "store failure", fill: 2, store: mamFailingStore{NewMemStore()}, cond: stanza.InternalServerError, errTyp: stanza.Cancel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newMAMEnv(t, MAMConfig{Store: tc.store})
			e.fill(tc.fill)
			a := e.serve(stanza.GetIQ, tc.to, request)
			require.Empty(t, a.Results)
			require.Equal(t, tc.cond, a.condition())
			if tc.cond != "" {
				require.Equal(t, tc.errTyp, a.IQ.Error.Type)
				return
			}
			require.NotNil(t, a.IQ.Metadata)
			if tc.start < 0 {
				require.Nil(t, a.IQ.Metadata.Start, "an empty archive has an empty <metadata/>")
				require.Nil(t, a.IQ.Metadata.End)
				return
			}
			for _, r := range []struct {
				got *mamMetadataRecord
				i   int
			}{{a.IQ.Metadata.Start, tc.start}, {a.IQ.Metadata.End, tc.end}} {
				require.NotNil(t, r.got)
				require.Equal(t, e.ids[r.i], r.got.ID)
				stamp, err := time.Parse(time.RFC3339Nano, r.got.Timestamp)
				require.NoError(t, err)
				require.True(t, stamp.Equal(mamStamp(r.i)), "timestamp %s", r.got.Timestamp)
			}
		})
	}
}

// A query that excludes groupchat never reads records from the store: it
// only checks the ids. The store here would fail on any page.
func TestMAMExcludeGroupchatReadsNoRecords(t *testing.T) {
	store := &mamCountingStore{MemStore: NewMemStore()}
	e := newMAMEnv(t, MAMConfig{Store: store})
	e.store = store.MemStore
	e.fill(4)
	a := e.query(`<field var="include-groupchat"><value>false</value></field>`, "")
	require.Empty(t, a.condition())
	require.Empty(t, a.Results)
	require.Equal(t, []int{0}, store.maxes)
}

// mamCountingStore records the Max of every query.
type mamCountingStore struct {
	*MemStore
	maxes []int
}

func (s *mamCountingStore) Query(ctx context.Context, owner jid.JID, q Query) (Page, error) {
	s.maxes = append(s.maxes, q.Max)
	return s.MemStore.Query(ctx, owner, q)
}
