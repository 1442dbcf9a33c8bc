package pam

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
	"github.com/mixpam/mixpam/ns"
	"github.com/mixpam/mixpam/roster"
)

var (
	fanOutSIDName  = xml.Name{Space: ns.StanzaID, Local: "stanza-id"}
	fanOutToName   = xml.Name{Local: "to"}
	fanOutByName   = xml.Name{Local: "by"}
	fanOutIDName   = xml.Name{Local: "id"}
	fanOutUserBare = fanOutUser.String()
)

// requireFanOutCopy checks one delivered or archived copy against the
// message that came in: the same element in every respect but for to, which
// is want, and the stanza-ids, of which there is exactly one by the user,
// with id, as the last child.
func requireFanOutCopy(t *testing.T, raw []byte, in, to, id string) {
	t.Helper()
	got := parseFanOutElement(t, raw)
	orig := parseFanOutElement(t, []byte(in))
	fanOutToClientNS(orig)
	require.Equal(t, to, got.Attr[fanOutToName], "to")

	require.NotEmpty(t, got.Children)
	last := got.Children[len(got.Children)-1]
	require.Equal(t, fanOutSIDName, last.Name)
	require.Equal(t, map[xml.Name]string{{Local: "by"}: fanOutUserBare, {Local: "id"}: id}, last.Attr)
	for _, c := range got.Children[:len(got.Children)-1] {
		if c.Name == fanOutSIDName {
			require.NotEqual(t, fanOutUserBare, c.Attr[fanOutByName], "a stanza-id by the user survived")
		}
	}

	// Everything else is the message as received, to and forged
	// stanza-ids aside.
	delete(got.Attr, fanOutToName)
	delete(orig.Attr, fanOutToName)
	require.Equal(t, orig.Attr, got.Attr, "attributes")
	var kept []*fanOutElement
	for _, c := range orig.Children {
		if c.Name == fanOutSIDName && sameBareJID(c.Attr[fanOutByName], fanOutUser, fanOutUserBare) {
			continue
		}
		kept = append(kept, c)
	}
	require.Equal(t, kept, got.Children[:len(got.Children)-1], "children")
	require.Equal(t, orig.Text, got.Text)
}

// fanOutToClientNS moves el from jabber:server to jabber:client, as a stanza
// relayed from a server stream to a client stream is.
func fanOutToClientNS(el *fanOutElement) {
	if el.Name.Space == "jabber:server" {
		el.Name.Space = ns.Client
	}
	for _, c := range el.Children {
		fanOutToClientNS(c)
	}
}

func TestFanOutDeliversToEveryMIXCapableResource(t *testing.T) {
	tests := []struct {
		name string
		mix  []string // MIX-capable resources; one non-MIX resource is always online
	}{
		{"no MIX-capable resource", nil},
		{"one MIX-capable resource", []string{"UUID-x4r/2491"}},
		{"three MIX-capable resources", []string{"UUID-x4r/2491", "UUID-b5b/0114", "a-rather-long-resource-name-beyond-32-bytes-0123456789"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newFanOutEnv(t)
			legacy := e.online("legacy", false)
			var clients []jid.JID
			for i, r := range tc.mix {
				j := e.online(r, true)
				// Presence show and priority do not matter (XEP-0405 §2.2).
				require.NoError(t, e.sessions.SetPresence(j, i%2 == 0, int8(-i)))
				clients = append(clients, j)
			}

			res, err := e.serve(fanOutMessage)
			require.NoError(t, err)
			require.Equal(t, FanOutAccepted, res.Action)
			require.Equal(t, len(tc.mix), res.Delivered)
			require.Len(t, res.ID, archive.IDLen)

			recs := e.records()
			require.Len(t, recs, 1, "archived once, whatever the number of clients")
			rec := recs[0]
			require.Equal(t, res.ID, rec.ID)
			require.True(t, rec.With.Equal(fanOutChannel), "with %s", rec.With)
			require.False(t, rec.Time.IsZero())
			requireFanOutCopy(t, rec.Stanza, fanOutMessage, fanOutUserBare, res.ID)

			deliveries := e.router.Deliveries()
			require.Len(t, deliveries, len(tc.mix))
			require.Empty(t, e.router.To(legacy), "a resource that is not MIX-capable gets nothing")
			for _, c := range clients {
				got := e.router.To(c)
				require.Len(t, got, 1, "copies to %s", c)
				requireFanOutCopy(t, got[0].Stanza, fanOutMessage, c.String(), res.ID)
				// The live copy is the archived one but for to.
				require.Equal(t, string(rec.Stanza),
					strings.Replace(string(got[0].Stanza), `to="`+c.String()+`"`, `to="`+fanOutUserBare+`"`, 1))
			}
			st := e.fanOut.Stats()
			require.Equal(t, FanOutStats{Accepted: 1, Delivered: uint64(len(tc.mix))}, st)
		})
	}
}

func TestFanOutListing2(t *testing.T) {
	// XEP-0405 Listing 1 in, Listing 2 out: only to changes.
	e := newFanOutEnv(t)
	a := e.online("UUID-x4r/2491", true)
	b := e.online("UUID-b5b/0114", true)
	in := `<message from='coven@mix.shakespeare.example/123456'
  to='hecate@shakespeare.example'
  id='77E07BB0-55CF-4BD4-890E-3F7C0E686BB0'
  type='groupchat'>
  <body>Harpier cries: 'tis_time, 'tis time.</body>
  <mix xmlns='urn:xmpp:mix:core:1'>
    <nick>thirdwitch</nick>
    <jid>hag66@shakespeare.example</jid>
  </mix>
</message>`
	res, err := e.serve(in)
	require.NoError(t, err)
	want := func(to jid.JID) string {
		return `<message to="` + to.String() + `" from="coven@mix.shakespeare.example/123456" id="77E07BB0-55CF-4BD4-890E-3F7C0E686BB0" type="groupchat">
  <body>Harpier cries: &apos;tis_time, &apos;tis time.</body>
  <mix xmlns="urn:xmpp:mix:core:1">
    <nick>thirdwitch</nick>
    <jid>hag66@shakespeare.example</jid>
  </mix>
<stanza-id xmlns="urn:xmpp:sid:0" by="hecate@shakespeare.example" id="` + res.ID + `"></stanza-id></message>`
	}
	for _, c := range []jid.JID{a, b} {
		got := e.router.To(c)
		require.Len(t, got, 1)
		require.Equal(t, parseFanOutElement(t, []byte(want(c))), parseFanOutElement(t, got[0].Stanza))
	}
}

func TestFanOutDropsTrafficFromChannelsNotJoined(t *testing.T) {
	tests := []struct {
		name, from string
	}{
		{"another channel", "spells@mix.shakespeare.example/123456"},
		{"the same channel name on another service", "coven@mix.evil.example/123456"},
		{"the same localpart on another domain", "coven@shakespeare.example/123456"},
		{"the channel service itself", "mix.shakespeare.example"},
		{"an ordinary contact in the roster", "witch@shakespeare.example/broom"},
		{"the user's own JID", "hecate@shakespeare.example/UUID-x4r/2491"},
		{"an encoded participant JID", "123456#coven@mix.shakespeare.example"},
		{"no from", ""},
		{"an invalid from", "@@mix.shakespeare.example"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newFanOutEnv(t)
			e.online("UUID-x4r/2491", true)
			in := strings.Replace(fanOutMessage, `from="coven@mix.shakespeare.example/123456" `, "", 1)
			if tc.from != "" {
				in = strings.Replace(in, "<message ", `<message from="`+tc.from+`" `, 1)
			}
			res, err := e.serve(in)
			require.NoError(t, err)
			require.Equal(t, FanOutResult{Action: FanOutNotJoined}, res)
			require.Empty(t, e.records(), "archived")
			require.Empty(t, e.router.Deliveries(), "delivered")
			require.Equal(t, FanOutStats{DroppedNotJoined: 1}, e.fanOut.Stats())
			require.Equal(t, 1, e.logs.count(slog.LevelDebug), "logged at debug")
		})
	}
}

// fanOutBlockFilter blocks the JIDs in blocked and records its calls.
type fanOutBlockFilter struct {
	blocked map[string]bool
	err     error
	calls   []string
}

func (b *fanOutBlockFilter) Blocked(_ context.Context, user jid.JID, peer blocking.Peer) (bool, error) {
	b.calls = append(b.calls, user.String()+" "+peer.JID.String())
	if !peer.Groupchat {
		return false, errors.New("groupchat not set")
	}
	return b.blocked[peer.JID.String()], b.err
}

// fanOutRosterFunc is a roster.ItemLookup.
type fanOutRosterFunc func(ctx context.Context, user, contact jid.JID) (roster.Item, error)

func (f fanOutRosterFunc) Item(ctx context.Context, user, contact jid.JID) (roster.Item, error) {
	return f(ctx, user, contact)
}

func TestFanOutBlockFilter(t *testing.T) {
	errBroken := errors.New("blocklist unavailable")
	tests := []struct {
		name       string
		filter     *fanOutBlockFilter
		wantAction FanOutAction
		wantErr    error
		wantStats  FanOutStats
	}{
		{"blocked", &fanOutBlockFilter{blocked: map[string]bool{"coven@mix.shakespeare.example/123456": true}}, FanOutBlocked, nil, FanOutStats{DroppedBlocked: 1}},
		{"filter fails", &fanOutBlockFilter{err: errBroken}, FanOutFailed, errBroken, FanOutStats{CheckFailures: 1}},
		{"not blocked", &fanOutBlockFilter{}, FanOutAccepted, nil, FanOutStats{Accepted: 1, Delivered: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rosterCalls := 0
			var e *fanOutEnv
			e = newFanOutEnv(t, func(c *FanOutConfig) {
				c.Block = tc.filter
				c.Roster = fanOutRosterFunc(func(ctx context.Context, user, contact jid.JID) (roster.Item, error) {
					rosterCalls++
					return e.roster.Item(ctx, user, contact)
				})
			})
			e.online("UUID-x4r/2491", true)
			res, err := e.serve(fanOutMessage)
			require.Equal(t, tc.wantAction, res.Action)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, []string{"hecate@shakespeare.example coven@mix.shakespeare.example/123456"}, tc.filter.calls)
			require.Equal(t, tc.wantStats, e.fanOut.Stats())
			if tc.wantAction == FanOutAccepted {
				require.Len(t, e.records(), 1)
				require.Equal(t, 1, rosterCalls)
				return
			}
			require.Zero(t, rosterCalls, "the block filter is consulted first")
			require.Empty(t, e.records())
			require.Empty(t, e.router.Deliveries())
		})
	}
}

func TestFanOutRosterFailureDrops(t *testing.T) {
	errBroken := errors.New("roster unavailable")
	e := newFanOutEnv(t, func(c *FanOutConfig) {
		c.Roster = fanOutRosterFunc(func(context.Context, jid.JID, jid.JID) (roster.Item, error) {
			return roster.Item{}, errBroken
		})
	})
	e.online("UUID-x4r/2491", true)
	res, err := e.serve(fanOutMessage)
	require.ErrorIs(t, err, errBroken)
	require.Equal(t, FanOutResult{Action: FanOutFailed}, res)
	require.Empty(t, e.records())
	require.Empty(t, e.router.Deliveries())
	require.Equal(t, FanOutStats{CheckFailures: 1}, e.fanOut.Stats())
	require.Equal(t, 1, e.logs.count(slog.LevelWarn))
}

func TestFanOutArchivesWithNoClientOnline(t *testing.T) {
	for _, online := range []bool{false, true} {
		t.Run(map[bool]string{false: "nobody online", true: "only a non-MIX client online"}[online], func(t *testing.T) {
			e := newFanOutEnv(t)
			if online {
				e.online("legacy", false)
			}
			res, err := e.serve(fanOutMessage)
			require.NoError(t, err)
			require.Equal(t, FanOutAccepted, res.Action)
			require.Zero(t, res.Delivered)
			recs := e.records()
			require.Len(t, recs, 1)
			requireFanOutCopy(t, recs[0].Stanza, fanOutMessage, fanOutUserBare, res.ID)
			require.Empty(t, e.router.Deliveries())
		})
	}
}

func TestFanOutReplacesForgedStanzaIDs(t *testing.T) {
	forged := []string{
		`<stanza-id xmlns="urn:xmpp:sid:0" by="hecate@shakespeare.example" id="forged-1"/>`,
		`<stanza-id xmlns="urn:xmpp:sid:0" by="HECATE@Shakespeare.Example" id="forged-2"/>`,
		`<stanza-id xmlns="urn:xmpp:sid:0" by="hecate@shakespeare.example." id="forged-3"/>`,
		`<stanza-id xmlns="urn:xmpp:sid:0" by="hecate@ｓhakespeare.example" id="forged-4"/>`,
		`<stanza-id xmlns="urn:xmpp:sid:0" id="forged-5" by="hecate@shakespeare.example"><nested/>text</stanza-id>`,
		`<sid:stanza-id xmlns:sid="urn:xmpp:sid:0" by="hecate@shakespeare.example" id="forged-6"/>`,
	}
	kept := []string{
		`<stanza-id xmlns="urn:xmpp:sid:0" by="coven@mix.shakespeare.example" id="channel-2"/>`,
		`<stanza-id xmlns="urn:xmpp:sid:0" by="hecate@shakespeare.example/UUID-x4r/2491" id="full-jid"/>`,
		`<stanza-id xmlns="urn:example:other" by="hecate@shakespeare.example" id="other-ns"/>`,
		`<origin-id xmlns="urn:xmpp:sid:0" id="origin"/>`,
		`<wrapper xmlns="urn:example:w"><stanza-id xmlns="urn:xmpp:sid:0" by="hecate@shakespeare.example" id="nested"/></wrapper>`,
	}
	in := strings.Replace(fanOutMessage, "</message>", strings.Join(forged, "")+strings.Join(kept, "")+"</message>", 1)
	for i, f := range forged {
		require.True(t, strings.Contains(in, f), "seed %d", i)
	}

	e := newFanOutEnv(t)
	c := e.online("UUID-x4r/2491", true)
	res, err := e.serve(in)
	require.NoError(t, err)
	require.Equal(t, 1, res.Delivered)
	rec := e.records()[0]
	live := e.router.To(c)[0].Stanza
	for _, raw := range [][]byte{rec.Stanza, live} {
		require.NotContains(t, string(raw), "forged")
		for _, id := range []string{"channel-1", "channel-2", "full-jid", "other-ns", "origin", "nested"} {
			require.Contains(t, string(raw), `id="`+id+`"`)
		}
	}
	requireFanOutCopy(t, rec.Stanza, in, fanOutUserBare, res.ID)
	requireFanOutCopy(t, live, in, c.String(), res.ID)
}

// fanOutFailingArchive refuses every record.
type fanOutFailingArchive struct{ err error }

func (a fanOutFailingArchive) Append(context.Context, jid.JID, archive.Record) error { return a.err }

func TestFanOutArchiveFailureDeliversAndReports(t *testing.T) {
	errFull := errors.New("disk full")
	for _, clients := range []int{0, 2} {
		t.Run(map[int]string{0: "no client", 2: "two clients"}[clients], func(t *testing.T) {
			e := newFanOutEnv(t, func(c *FanOutConfig) { c.Archive = fanOutFailingArchive{errFull} })
			for i := range clients {
				e.online(string(rune('a'+i)), true)
			}
			res, err := e.serve(fanOutMessage)
			require.ErrorIs(t, err, errFull)
			var aerr *ArchiveError
			require.ErrorAs(t, err, &aerr)
			require.Equal(t, FanOutAccepted, res.Action)
			require.Equal(t, clients, res.Delivered, "delivered despite the archive failure")
			require.Len(t, e.router.Deliveries(), clients)

			// The error carries the record, so that the host can archive
			// it later under the id the clients already saw.
			require.True(t, aerr.Owner.Equal(fanOutUser))
			require.Equal(t, res.ID, aerr.Record.ID)
			require.True(t, aerr.Record.With.Equal(fanOutChannel))
			requireFanOutCopy(t, aerr.Record.Stanza, fanOutMessage, fanOutUserBare, res.ID)
			require.Equal(t, FanOutStats{Accepted: 1, Delivered: uint64(clients), ArchiveFailures: 1}, e.fanOut.Stats())
			require.Equal(t, 1, e.logs.count(slog.LevelWarn))

			// The record is the caller's: a later message does not
			// overwrite it (the fan-out reuses its buffers).
			kept := bytes.Clone(aerr.Record.Stanza)
			_, err = e.serve(strings.Replace(fanOutMessage, "Harpier", "Another", 1))
			require.Error(t, err)
			require.Equal(t, kept, aerr.Record.Stanza)

			require.NoError(t, e.archive.Append(context.Background(), aerr.Owner, aerr.Record))
			recs := e.records()
			require.Len(t, recs, 1)
			require.Equal(t, res.ID, recs[0].ID)
		})
	}
}

// fanOutFailingRouter fails deliveries to one JID.
type fanOutFailingRouter struct {
	*hosttest.Recorder
	fail jid.JID
}

func (r fanOutFailingRouter) RouteRaw(ctx context.Context, to jid.JID, raw []byte) error {
	if to.Equal(r.fail) {
		return errors.New("session gone")
	}
	return r.Recorder.RouteRaw(ctx, to, raw)
}

func TestFanOutDeliveryFailureReachesTheOthers(t *testing.T) {
	broken := jid.MustParse("hecate@shakespeare.example/broken")
	var rec *hosttest.Recorder
	e := newFanOutEnv(t, func(c *FanOutConfig) {
		rec = hosttest.NewRecorder(nil)
		c.Router = fanOutFailingRouter{Recorder: rec, fail: broken}
	})
	e.router = rec
	e.online("first", true)
	e.online("broken", true)
	e.online("last", true)
	res, err := e.serve(fanOutMessage)
	require.ErrorContains(t, err, "session gone")
	require.Equal(t, 2, res.Delivered)
	require.Len(t, e.router.Deliveries(), 2)
	require.Len(t, e.records(), 1)
	require.Equal(t, FanOutStats{Accepted: 1, Delivered: 2, DeliveryFailures: 1}, e.fanOut.Stats())
}

// fanOutFailingSessions cannot list sessions.
type fanOutFailingSessions struct{}

func (fanOutFailingSessions) Resources(context.Context, jid.JID) ([]host.Resource, error) {
	return nil, errors.New("registry down")
}

func TestFanOutSessionsFailureStillArchives(t *testing.T) {
	e := newFanOutEnv(t, func(c *FanOutConfig) { c.Sessions = fanOutFailingSessions{} })
	res, err := e.serve(fanOutMessage)
	require.ErrorContains(t, err, "registry down")
	require.Equal(t, FanOutAccepted, res.Action)
	require.Len(t, e.records(), 1)
	require.Equal(t, FanOutStats{Accepted: 1, DeliveryFailures: 1}, e.fanOut.Stats())
}

// fanOutUnreadable fails the test if it is read.
type fanOutUnreadable struct{ t *testing.T }

func (r fanOutUnreadable) Token() (xml.Token, error) {
	r.t.Error("the stanza was read")
	return nil, io.EOF
}

func TestFanOutPassesOtherMessages(t *testing.T) {
	tests := []struct{ name, in string }{
		{"chat", strings.Replace(fanOutMessage, `type="groupchat"`, `type="chat"`, 1)},
		{"not a message", strings.NewReplacer("<message", "<presence", "</message>", "</presence>").Replace(fanOutMessage)},
		{"no type", strings.Replace(fanOutMessage, `type="groupchat"`, ``, 1)},
		{"to a full JID", strings.Replace(fanOutMessage, `to="hecate@shakespeare.example"`, `to="hecate@shakespeare.example/UUID-x4r/2491"`, 1)},
		{"no to", strings.Replace(fanOutMessage, `to="hecate@shakespeare.example"`, ``, 1)},
		{"an invalid to", strings.Replace(fanOutMessage, `to="hecate@shakespeare.example"`, `to="@"`, 1)},
		{"not a stanza namespace", strings.Replace(fanOutMessage, `xmlns="jabber:server"`, `xmlns="urn:example:not-a-stanza"`, 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newFanOutEnv(t)
			e.online("UUID-x4r/2491", true)
			d := xml.NewDecoder(strings.NewReader(tc.in))
			res, err := e.fanOut.ServeMessage(context.Background(), fanOutFirstStart(t, d), fanOutUnreadable{t})
			require.ErrorIs(t, err, host.ErrNotHandled)
			require.Equal(t, FanOutResult{Action: FanOutPassed}, res)
			require.Empty(t, e.records())
			require.Empty(t, e.router.Deliveries())
			require.Equal(t, FanOutStats{}, e.fanOut.Stats())
		})
	}
}

func TestFanOutReaders(t *testing.T) {
	// The ways a host may hand over the rest of the stanza.
	next := `<message xmlns="jabber:server" to="hecate@shakespeare.example" type="chat"><body>next</body></message>`
	tests := []struct {
		name string
		rest func(d *xml.Decoder) xml.TokenReader
	}{
		{"the stream's decoder", func(d *xml.Decoder) xml.TokenReader { return d }},
		{"children and end element (xmlstream.InnerElement)", func(d *xml.Decoder) xml.TokenReader { return xmlstream.InnerElement(d) }},
		{"children only (xmlstream.Inner)", func(d *xml.Decoder) xml.TokenReader { return xmlstream.Inner(d) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newFanOutEnv(t)
			c := e.online("UUID-x4r/2491", true)
			d := xml.NewDecoder(strings.NewReader(fanOutMessage + next))
			res, err := e.fanOut.ServeMessage(context.Background(), fanOutFirstStart(t, d), tc.rest(d))
			require.NoError(t, err)
			require.Equal(t, 1, res.Delivered)
			requireFanOutCopy(t, e.router.To(c)[0].Stanza, fanOutMessage, c.String(), res.ID)

			// Nothing past the stanza was read.
			tok, err := d.Token()
			if _, ok := tok.(xml.EndElement); ok {
				// xmlstream.Inner stops before the end element.
				tok, err = d.Token()
			}
			require.NoError(t, err)
			start, ok := tok.(xml.StartElement)
			require.True(t, ok, "%T %v", tok, tok)
			require.Equal(t, "message", start.Name.Local)
		})
	}
}

func TestFanOutMalformedStanza(t *testing.T) {
	tests := []struct{ name, in string }{
		{"cut inside a child", `<message from="coven@mix.shakespeare.example/1" to="hecate@shakespeare.example" type="groupchat"><body>cut`},
		{"cut inside a forged stanza-id", `<message from="coven@mix.shakespeare.example/1" to="hecate@shakespeare.example" type="groupchat"><stanza-id xmlns="urn:xmpp:sid:0" by="hecate@shakespeare.example" id="x"><a>`},
		{"syntax error", `<message from="coven@mix.shakespeare.example/1" to="hecate@shakespeare.example" type="groupchat"><body>a</bdy></message>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newFanOutEnv(t)
			e.online("UUID-x4r/2491", true)
			res, err := e.serve(tc.in)
			require.Error(t, err)
			require.Equal(t, FanOutResult{Action: FanOutFailed}, res)
			require.Empty(t, e.records())
			require.Empty(t, e.router.Deliveries())
			require.Equal(t, FanOutStats{Malformed: 1}, e.fanOut.Stats())
		})
	}
}

func TestFanOutRepeatedAttributes(t *testing.T) {
	// encoding/xml accepts repeated attributes; the copies must not carry
	// them to the clients, whose parsers would give up on the stream.
	in := `<message from="coven@mix.shakespeare.example/1" from="spells@mix.shakespeare.example/1" to="hecate@shakespeare.example" to="hecate@shakespeare.example/x" ` +
		`type="groupchat" type="chat" xmlns:a="urn:a" xmlns:b="urn:a" a:x="1" b:x="2">` +
		`<body lang="en" lang="de" xml:lang="en" xml:lang="fr">hi</body></message>`
	e := newFanOutEnv(t)
	c := e.online("UUID-x4r/2491", true)
	res, err := e.serve(in)
	require.NoError(t, err)
	require.Equal(t, FanOutAccepted, res.Action, "the first of each is the one that counts")
	got := parseFanOutElement(t, e.router.To(c)[0].Stanza)
	require.Equal(t, map[xml.Name]string{
		{Local: "to"}: c.String(), {Local: "from"}: "coven@mix.shakespeare.example/1",
		{Local: "type"}: "groupchat", {Space: "urn:a", Local: "x"}: "1",
	}, got.Attr)
	require.Equal(t, map[xml.Name]string{
		{Local: "lang"}: "en", {Space: "http://www.w3.org/XML/1998/namespace", Local: "lang"}: "en",
	}, got.Children[0].Attr)
}

func TestFanOutIDsAreOrdered(t *testing.T) {
	e := newFanOutEnv(t)
	var ids []string
	for range 50 {
		res, err := e.serve(fanOutMessage)
		require.NoError(t, err)
		ids = append(ids, res.ID)
	}
	recs := e.records()
	require.Len(t, recs, len(ids))
	for i, r := range recs {
		require.Equal(t, ids[i], r.ID, "archive order is arrival order")
		if i > 0 {
			require.Less(t, ids[i-1], ids[i])
			require.True(t, recs[i-1].Time.Before(r.Time))
		}
	}
}

// A FanOutConfig without one of its seams is refused with an error naming
// it, not a FanOut that panics on its first message.
func TestNewFanOutNeedsItsSeams(t *testing.T) {
	full := FanOutConfig{Sessions: host.NewMemSessions(), Router: hosttest.NewRecorder(nil), Roster: roster.NewMemStore(), Archive: archive.NewMemStore()}
	for _, tc := range []struct {
		field string
		clear func(*FanOutConfig)
	}{
		{"Sessions", func(c *FanOutConfig) { c.Sessions = nil }},
		{"Router", func(c *FanOutConfig) { c.Router = nil }},
		{"Roster", func(c *FanOutConfig) { c.Roster = nil }},
		{"Archive", func(c *FanOutConfig) { c.Archive = nil }},
	} {
		t.Run(tc.field, func(t *testing.T) {
			c := full
			tc.clear(&c)
			f, err := NewFanOut(c)
			require.ErrorContains(t, err, "FanOutConfig."+tc.field+" is required")
			require.Nil(t, f)
		})
	}
	f, err := NewFanOut(full)
	require.NoError(t, err)
	require.NotNil(t, f)
}

func TestFanOutFeatures(t *testing.T) {
	e := newFanOutEnv(t)
	var got []string
	require.NoError(t, e.fanOut.ForFeatures("", func(f info.Feature) error {
		got = append(got, f.Var)
		return nil
	}))
	require.Equal(t, []string{"urn:xmpp:mix:pam:2#archive", "urn:xmpp:sid:0"}, got)
}
