package presence

import (
	"context"
	"encoding/xml"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
	"github.com/mixpam/mixpam/roster"
)

// JIDs of the XEP-0405 §2.9 examples.
const (
	userBare  = "hag66@shakespeare.example"
	coven     = "coven@mix.shakespeare.example"
	brew      = "brew@mix.shakespeare.example"
	hecateIn  = "123435#coven@mix.shakespeare.example/UUID-a1j/7533"
	thirdIn   = "99#coven@mix.shakespeare.example/UUID-x4r/2491"
	brewerIn  = "77#brew@mix.shakespeare.example/res"
	mixClient = userBare + "/UUID-a1j/7533"
	mixOther  = userBare + "/UUID-c8y/1573"
	oldClient = userBare + "/legacy"
)

// Listing 14: the channel's presence to the user's bare JID.
const channelPresence = `<presence xmlns='jabber:client' from='` + hecateIn + `' to='` + userBare + `' id='77E07BB0-55CF-4BD4-890E-3F7C0E686BBD'>` +
	`<mix xmlns='urn:xmpp:mix:presence:0'><jid>hecate@shakespeare.example/UUID-x4r/2491</jid><nick>thirdwitch</nick></mix>` +
	`<show>dnd</show><status>Making a Brew</status></presence>`

// Listing 12: a client sets its presence status.
const clientPresence = `<presence xmlns='jabber:client'><show>dnd</show><status>Making a Brew</status></presence>`

// harness wires a Handler to in-memory host seams.
type harness struct {
	t        *testing.T
	sessions *host.MemSessions
	router   *hosttest.Recorder
	rosters  *roster.MemStore
	h        *Handler
	base     Stats // counters when the test's setup ended
}

// option sets a field of the Config a test builds its Handler with.
type option func(*Config)

func withBlock(f BlockFilter) option { return func(c *Config) { c.Block = f } }

func withCache(perUser, total int) option {
	return func(c *Config) { c.Cache = CacheLimits{PerUser: perUser, Total: total} }
}

func withRefresh(d time.Duration) option { return func(c *Config) { c.RefreshTimeout = d } }

func withLogger(l *slog.Logger) option { return func(c *Config) { c.Logger = l } }

func discardOffline(c *Config) { c.DiscardWhileOffline = true }

// newHandler builds a Handler on the given seams, failing tb if New refuses.
func newHandler(tb testing.TB, sessions host.Sessions, router host.Router, rosters roster.Reader, opts ...option) *Handler {
	tb.Helper()
	c := Config{Sessions: sessions, Router: router, Rosters: rosters}
	for _, o := range opts {
		o(&c)
	}
	h, err := New(c)
	require.NoError(tb, err)
	return h
}

// mustFilter is the MIX-aware filter over store's blocklists.
func mustFilter(tb testing.TB, store blocking.Store) *blocking.Filter {
	tb.Helper()
	f, err := blocking.NewFilter(blocking.FilterConfig{Checker: blocking.StoreChecker(store)})
	require.NoError(tb, err)
	return f
}

func newHarness(t *testing.T, opts ...option) *harness {
	t.Helper()
	hs := &harness{
		t:        t,
		sessions: host.NewMemSessions(),
		router:   hosttest.NewRecorder(nil),
		rosters:  roster.NewMemStore(),
	}
	hs.h = newHandler(hs.t, hs.sessions, hs.router, hs.rosters, opts...)
	return hs
}

// restart replaces the handler by a new one on the same seams, as after a
// server restart: the cache and the knowledge of online sessions are gone.
func (hs *harness) restart(opts ...option) {
	hs.h = newHandler(hs.t, hs.sessions, hs.router, hs.rosters, opts...)
}

// join puts channel in the user's roster.
func (hs *harness) join(channel string, sub roster.Subscription) {
	hs.t.Helper()
	hs.joinAs(userBare, channel, sub)
}

// joinAs puts channel in user's roster.
func (hs *harness) joinAs(user, channel string, sub roster.Subscription) {
	hs.t.Helper()
	_, err := hs.rosters.Put(context.Background(), jid.MustParse(user), roster.Item{
		JID: jid.MustParse(channel), Subscription: sub, Channel: true, ParticipantID: "hag66",
	})
	require.NoError(hs.t, err)
}

// connect registers a session with the host.
func (hs *harness) connect(full string, mix bool) {
	hs.sessions.Add(host.Resource{JID: jid.MustParse(full), MIXCapable: mix})
}

// outbound has session full broadcast the presence raw (without from).
func (hs *harness) outbound(full, raw string) {
	hs.t.Helper()
	p, payload := decode(hs.t, raw)
	p.From = jid.MustParse(full)
	require.NoError(hs.t, hs.h.Outbound(context.Background(), p, payload))
}

// online connects a session and has it send initial presence.
func (hs *harness) online(full string, mix bool) {
	hs.t.Helper()
	hs.connect(full, mix)
	hs.outbound(full, clientPresence)
}

// inbound hands the stanza raw to Inbound and returns whether it was handled.
func (hs *harness) inbound(raw string) bool {
	hs.t.Helper()
	p, payload := decode(hs.t, raw)
	err := hs.h.Inbound(context.Background(), p, payload)
	if errors.Is(err, host.ErrNotHandled) {
		return false
	}
	require.NoError(hs.t, err)
	return true
}

// deliveries returns what was routed since the last reset, parsed, and
// resets the router.
func (hs *harness) deliveries() []delivered {
	hs.t.Helper()
	var out []delivered
	for _, d := range hs.router.Deliveries() {
		out = append(out, parseDelivery(hs.t, d))
	}
	hs.router.Reset()
	return out
}

// decode splits a serialised presence into its header and its children, as
// a host does after reading the start element.
func decode(t testing.TB, raw string) (stanza.Presence, xml.TokenReader) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(raw))
	tok, err := d.Token()
	require.NoError(t, err)
	start, ok := tok.(xml.StartElement)
	require.True(t, ok)
	p, err := stanza.NewPresence(start)
	require.NoError(t, err)
	return p, xmlstream.Inner(d)
}

// delivered is a routed presence, parsed.
type delivered struct {
	RoutedTo string `xml:"-"`
	XMLName  xml.Name
	To       string `xml:"to,attr"`
	From     string `xml:"from,attr"`
	Type     string `xml:"type,attr"`
	ID       string `xml:"id,attr"`
	Show     string `xml:"show"`
	Status   string `xml:"status"`
	MIX      *struct {
		JID  string `xml:"jid"`
		Nick string `xml:"nick"`
	} `xml:"urn:xmpp:mix:presence:0 mix"`
}

func parseDelivery(t testing.TB, d hosttest.Delivery) delivered {
	t.Helper()
	var got delivered
	require.NoError(t, xml.Unmarshal(d.Stanza, &got), "%s", d.Stanza)
	require.Equal(t, "presence", got.XMLName.Local)
	require.Equal(t, d.To.String(), got.To, "routed to the stanza's to")
	got.RoutedTo = d.To.String()
	got.XMLName = xml.Name{}
	return got
}

// filter returns the deliveries for which keep is true.
func filter(ds []delivered, keep func(delivered) bool) []delivered {
	var out []delivered
	for _, d := range ds {
		if keep(d) {
			out = append(out, d)
		}
	}
	return out
}

// refreshes returns the directed presence from the user's bare JID.
func refreshes(ds []delivered) []delivered {
	return filter(ds, func(d delivered) bool { return d.From == userBare && d.Type == "" })
}

// to returns the deliveries to j.
func to(ds []delivered, j string) []delivered {
	return filter(ds, func(d delivered) bool { return d.To == j })
}

// mark ends a test's setup: counters() counts from here.
func (hs *harness) mark() {
	hs.deliveries()
	hs.base = hs.h.Stats()
}

// counters returns the handler's stats, counters since mark.
func (hs *harness) counters() Stats {
	s, b := hs.h.Stats(), hs.base
	return Stats{
		Entries:   s.Entries,
		Evicted:   s.Evicted - b.Evicted,
		Discarded: s.Discarded - b.Discarded,
		Spoofed:   s.Spoofed - b.Spoofed,
		Blocked:   s.Blocked - b.Blocked,
		Refreshes: s.Refreshes - b.Refreshes,
		Missed:    s.Missed - b.Missed,
	}
}

// fakeClock is a settable clock for refresh timeouts.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// blockList is a BlockFilter blocking exactly the listed peers.
type blockList map[string]bool

func (b blockList) Blocked(_ context.Context, _ jid.JID, peer blocking.Peer) (bool, error) {
	return b[peer.JID.String()], nil
}
