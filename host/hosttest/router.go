package hosttest

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/paging"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/kit"
	"github.com/mixpam/mixpam/internal/xmltree"
	"github.com/mixpam/mixpam/ns"
)

// RouterHarness is a router under test and the means to see what it
// delivered, which host.Router leaves to the host.
type RouterHarness struct {
	// Router is the router under test. If it is a host.RawRouter, the kit
	// tests RouteRaw; otherwise it tests host.RouteBytes over Route.
	Router host.Router
	// Delivered waits until at least n stanzas have been delivered to
	// exactly to (the JID given to Route), or ctx ends, and returns every
	// stanza delivered to to so far, oldest first. Each is one element
	// serialised as it would be written into a client stream: a top-level
	// element with no xmlns attribute (or xmlns="jabber:client"), and no
	// XML declaration.
	Delivered func(ctx context.Context, to jid.JID, n int) ([][]byte, error)
}

// RunRouter tests the router of the harness returned by newHarness against
// the contract documented on host.Router and host.RawRouter, in subtests.
// newHarness is called once per subtest and must return a router that has
// delivered nothing; it may register cleanups on t.
//
// The kit waits at most DeliveryTimeout for each delivery.
func RunRouter(t *testing.T, newHarness func(t *testing.T) RouterHarness) {
	t.Helper()
	runRouter(kit.FromTesting(t), kit.Adapt(newHarness))
}

// DeliveryTimeout is how long the router kit waits for a delivery.
const DeliveryTimeout = 10 * time.Second

// Sizes of the concurrency subtest.
const (
	routers     = 8
	perRouter   = 20
	routeTarget = 4 // distinct JIDs routed to
)

// sample is a stanza the router kit routes, serialised as RouteRaw takes it.
type sample struct {
	name string
	to   jid.JID
	raw  string
}

var coven = jid.MustParse("coven@mix.shakespeare.example")

// samples are stanzas that mixpam routes, from XEP-0405's examples, with
// the XML features a router must carry through unchanged.
var samples = []sample{
	{"channel join result (XEP-0405 §2.7)", hag66,
		`<iq type="result" from="coven@mix.shakespeare.example" to="hag66@shakespeare.example" id="E6E10350-76CF-40C6-B91B-1EA08C332FC7"><join xmlns="urn:xmpp:mix:core:1" jid="123456#coven@mix.shakespeare.example"><subscribe node="urn:xmpp:mix:nodes:messages"/><subscribe node="urn:xmpp:mix:nodes:presence"/></join></iq>`},
	{"groupchat fan-out (XEP-0405 §2.2)", hag66Laptop,
		`<message from="coven@mix.shakespeare.example/123456" to="hag66@shakespeare.example/UUID-a1j/7533" id="77E07BB0-55CF-4BD4-890E-3F7C0E686BBD" type="groupchat"><body>Harpier cries: &apos;tis time, &apos;tis time.</body><mix xmlns="urn:xmpp:mix:core:1"><nick>thirdwitch</nick><jid>hag66@shakespeare.example</jid></mix><stanza-id xmlns="urn:xmpp:sid:0" by="hag66@shakespeare.example" id="7c2f-4e"/></message>`},
	{"channel presence (XEP-0405 §2.9.2)", hag66Phone,
		`<presence from="123435#coven@mix.shakespeare.example/UUID-a1j/7533" to="hag66@shakespeare.example/UUID-x4r/2491" xml:lang="en"><show>dnd</show><status>Making a Brew</status><mix xmlns="urn:xmpp:mix:presence:0"><jid>hecate@shakespeare.example/UUID-x4r/2491</jid><nick>thirdwitch</nick></mix></presence>`},
	{"escaping and non-ASCII", hag66Laptop,
		`<message to="hag66@shakespeare.example/UUID-a1j/7533" id="q&quot;&lt;&amp;&gt;'&#x9;&#xA;" type="chat"><body>a &lt; b &amp;&amp; c &gt; d ]]&gt; Ünïcödé 🜁 "q" &#xD;</body></message>`},
	{"archive result with a nested stanza (XEP-0313)", hag66Laptop,
		`<message to="hag66@shakespeare.example/UUID-a1j/7533" id="aeb213"><result xmlns="urn:xmpp:mam:2" queryid="f27" id="28482-98726-73623"><forwarded xmlns="urn:xmpp:forward:0"><delay xmlns="urn:xmpp:delay" stamp="2010-07-10T23:08:25Z"/><message xmlns="jabber:client" from="coven@mix.shakespeare.example/123456" to="hag66@shakespeare.example" type="groupchat"><body>Hail to thee</body></message></forwarded></result></message>`},
	{"prefixed attributes and empty namespace", hag66,
		`<message to="hag66@shakespeare.example" id="p1"><x xmlns="urn:example:x" xmlns:p="urn:example:p" p:a="1" a="2"><y xmlns=""/></x></message>`},
}

type routerTest struct {
	name string
	f    func(t kit.T, h RouterHarness)
}

var routerTests = []routerTest{
	{"RouteDelivers", testRouteDelivers},
	{"RouteBuiltTokens", testRouteBuiltTokens},
	{"RouteConsumesBeforeReturn", testRouteConsumes},
	{"RouteToEachJID", testRouteToEachJID},
	{"OrderPerSender", testOrderPerSender},
	{"RawDelivers", testRawDelivers},
	{"RawBufferNotKept", testRawBufferNotKept},
	{"ConcurrentRouting", testConcurrentRouting},
}

func runRouter(t kit.T, newHarness func(kit.T) RouterHarness) {
	t.Helper()
	for _, tc := range routerTests {
		t.Run(tc.name, func(t kit.T) {
			h := newHarness(t)
			if h.Router == nil || h.Delivered == nil {
				t.Fatalf("harness needs Router and Delivered")
			}
			tc.f(t, h)
		})
	}
}

// decodeInStream returns the tokens of a stanza as a server decodes them:
// inside a stream whose default namespace is jabber:client.
func decodeInStream(raw string) xml.TokenReader {
	d := xml.NewDecoder(xmltree.Wrap([]byte(raw), ns.Client))
	if _, err := d.Token(); err != nil {
		panic(err)
	}
	return xmlstream.Inner(d)
}

// delivered waits for n deliveries to to and returns them.
func delivered(t kit.T, h RouterHarness, to jid.JID, n int) [][]byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), DeliveryTimeout)
	defer cancel()
	got, err := h.Delivered(ctx, to, n)
	kit.NoError(t, err, "waiting for %d stanza(s) delivered to %s", n, to)
	kit.GreaterOrEqual(t, len(got), n, "stanzas delivered to %s", to)
	return got
}

// requireSameStanza checks that got is the stanza want, parsed.
func requireSameStanza(t kit.T, want string, got []byte, what string) {
	t.Helper()
	wantTree, err := stanzaTree([]byte(want))
	kit.NoError(t, err, "%s: the kit's own stanza", what)
	gotTree, err := stanzaTree(got)
	kit.NoError(t, err, "%s: delivered stanza %q is not one well-formed stanza", what, got)
	kit.Equal(t, wantTree, gotTree, "%s: delivered %q, routed %q", what, got, want)
}

// testRouteDelivers routes each sample and waits for it before routing the
// next, so that it asks nothing of the order of deliveries.
func testRouteDelivers(t kit.T, h RouterHarness) {
	routeEach(t, h, "Route", func(s sample) error {
		return h.Router.Route(t.Context(), s.to, decodeInStream(s.raw))
	})
}

func routeEach(t kit.T, h RouterHarness, how string, route func(sample) error) {
	t.Helper()
	sent := make(map[string]int)
	for _, s := range samples {
		kit.NoError(t, route(s), "%s(%s)", how, s.name)
		sent[s.to.String()]++
		got := delivered(t, h, s.to, sent[s.to.String()])
		requireSameStanza(t, s.raw, got[len(got)-1], how+" "+s.name)
	}
}

// testRouteBuiltTokens routes tokens built by mellium's packages, whose
// child elements inherit their parent's namespace as encoding/xml's Encoder
// reads them.
func testRouteBuiltTokens(t kit.T, h RouterHarness) {
	set := &paging.Set{Last: "b"}
	set.First.ID = "a"
	msg := stanza.Message{To: hag66Laptop, From: coven, ID: "built-1", Type: stanza.GroupChatMessage}
	body := xmlstream.Wrap(xmlstream.Token(xml.CharData("hi & bye")), xml.StartElement{Name: xml.Name{Local: "body"}})
	kit.NoError(t, h.Router.Route(t.Context(), hag66Laptop, msg.Wrap(xmlstream.MultiReader(body, set.TokenReader()))), "Route of a message built with mellium")
	iq := stanza.IQ{To: hag66Laptop, From: hag66, ID: "built-2", Type: stanza.ErrorIQ}
	stanzaErr := stanza.Error{Type: stanza.Cancel, Condition: stanza.ItemNotFound, Text: map[string]string{"": "no such channel"}}
	kit.NoError(t, h.Router.Route(t.Context(), hag66Laptop, iq.Wrap(stanzaErr.TokenReader())), "Route of an IQ error built with mellium")

	got := delivered(t, h, hag66Laptop, 2)
	requireSameStanza(t, `<message type="groupchat" to="hag66@shakespeare.example/UUID-a1j/7533" from="coven@mix.shakespeare.example" id="built-1"><body>hi &amp; bye</body><set xmlns="http://jabber.org/protocol/rsm"><first>a</first><last>b</last></set></message>`,
		got[0], "Route of a message built with mellium")
	requireSameStanza(t, `<iq type="error" to="hag66@shakespeare.example/UUID-a1j/7533" from="hag66@shakespeare.example" id="built-2"><error type="cancel"><item-not-found xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">no such channel</text></error></iq>`,
		got[1], "Route of an IQ error built with mellium")
}

// watchedReader records how a router reads a stanza's tokens.
type watchedReader struct {
	r        xml.TokenReader
	depth    int
	consumed atomic.Bool  // the stanza's end element was read
	returned atomic.Bool  // Route returned
	late     atomic.Int32 // Token calls after Route returned
}

func (w *watchedReader) Token() (xml.Token, error) {
	if w.returned.Load() {
		w.late.Add(1)
	}
	tok, err := w.r.Token()
	switch tok.(type) {
	case xml.StartElement:
		w.depth++
	case xml.EndElement:
		w.depth--
		if w.depth == 0 {
			w.consumed.Store(true)
		}
	}
	return tok, err
}

func testRouteConsumes(t kit.T, h RouterHarness) {
	s := samples[1]
	w := &watchedReader{r: decodeInStream(s.raw)}
	kit.NoError(t, h.Router.Route(t.Context(), s.to, w), "Route(%s) of %s", s.to, s.name)
	w.returned.Store(true)
	kit.True(t, w.consumed.Load(), "Route must consume the stanza's tokens before it returns")
	got := delivered(t, h, s.to, 1)
	requireSameStanza(t, s.raw, got[0], "Route")
	kit.Zero(t, w.late.Load(), "Route must not read the stanza after it returned")
}

func testRouteToEachJID(t kit.T, h RouterHarness) {
	type routed struct {
		to  jid.JID
		raw string
	}
	all := []routed{
		{hag66Laptop, `<message to="hag66@shakespeare.example/UUID-a1j/7533" id="1"/>`},
		{hag66Phone, `<message to="hag66@shakespeare.example/UUID-x4r/2491" id="2"/>`},
		{hag66, `<message to="hag66@shakespeare.example" id="3"/>`},
		{hag01Laptop, `<message to="hag01@shakespeare.example/UUID-c8y/1573" id="4"/>`},
	}
	for _, r := range all {
		kit.NoError(t, h.Router.Route(t.Context(), r.to, decodeInStream(r.raw)), "Route(%s)", r.to)
	}
	// Wait for every delivery first, so that a misrouted stanza shows.
	for _, r := range all {
		delivered(t, h, r.to, 1)
	}
	for _, r := range all {
		got := delivered(t, h, r.to, 1)
		kit.Len(t, got, 1, "stanzas delivered to %s, after one was routed to it and others to other JIDs", r.to)
		requireSameStanza(t, r.raw, got[0], "Route to "+r.to.String())
	}
}

// testOrderPerSender routes stanzas to one JID from one goroutine,
// alternating Route and RouteRaw, and checks that they are delivered in the
// order they were routed (host.Router: RFC 6120 §10.1).
func testOrderPerSender(t kit.T, h RouterHarness) {
	const n = 10
	var want []string
	for i := range n {
		id := fmt.Sprintf("o%d", i)
		raw := fmt.Sprintf(`<message to="hag66@shakespeare.example/UUID-a1j/7533" id="%s" type="chat"><body>%d</body></message>`, id, i)
		var err error
		if i%2 == 0 {
			err = h.Router.Route(t.Context(), hag66Laptop, decodeInStream(raw))
		} else {
			err = host.RouteBytes(t.Context(), h.Router, hag66Laptop, []byte(raw))
		}
		kit.NoError(t, err, "routing stanza %d", i)
		want = append(want, id)
	}
	var got []string
	for _, d := range delivered(t, h, hag66Laptop, n) {
		got = append(got, stanzaID(t, d))
	}
	kit.Equal(t, want, got, "ids of stanzas routed to %s from one goroutine, in delivery order", hag66Laptop)
}

func testRawDelivers(t kit.T, h RouterHarness) {
	routeEach(t, h, "RouteRaw", func(s sample) error {
		return host.RouteBytes(t.Context(), h.Router, s.to, []byte(s.raw))
	})
}

// testRawBufferNotKept routes stanzas from one buffer, rewriting it after
// each call, as the groupchat fan-out does.
func testRawBufferNotKept(t kit.T, h RouterHarness) {
	buf := make([]byte, 0, 1024)
	for _, s := range samples[:3] {
		buf = append(buf[:0], s.raw...)
		kit.NoError(t, host.RouteBytes(t.Context(), h.Router, s.to, buf), "RouteRaw(%s) of %s", s.to, s.name)
		whole := buf[:cap(buf)]
		for i := range whole {
			whole[i] = '#'
		}
	}
	for _, s := range samples[:3] {
		got := delivered(t, h, s.to, 1)
		requireSameStanza(t, s.raw, got[0], "RouteRaw "+s.name+" after the caller reused the buffer")
	}
}

// testConcurrentRouting routes from many goroutines at once, through Route
// and RouteRaw, to a few JIDs, and checks that each stanza is delivered
// once, to its JID.
func testConcurrentRouting(t kit.T, h RouterHarness) {
	ctx := t.Context()
	targets := []jid.JID{hag66, hag66Laptop, hag66Phone, hag01Laptop}[:routeTarget]
	raw := func(g, i int) string {
		return fmt.Sprintf(`<message to="%s" id="g%d-%d" type="chat"><body>%d</body></message>`, targets[(g+i)%routeTarget], g, i, i)
	}
	errs := make([]error, routers)
	var wg sync.WaitGroup
	for g := range routers {
		wg.Go(func() {
			for i := range perRouter {
				to := targets[(g+i)%routeTarget]
				var err error
				if i%2 == 0 {
					err = h.Router.Route(ctx, to, decodeInStream(raw(g, i)))
				} else {
					err = host.RouteBytes(ctx, h.Router, to, []byte(raw(g, i)))
				}
				if err != nil {
					errs[g] = fmt.Errorf("routing stanza %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	want := make(map[string][]string)
	for g, err := range errs {
		kit.NoError(t, err, "router goroutine %d", g)
		for i := range perRouter {
			to := targets[(g+i)%routeTarget].String()
			want[to] = append(want[to], fmt.Sprintf("g%d-%d", g, i))
		}
	}
	for _, to := range targets {
		got := delivered(t, h, to, len(want[to.String()]))
		var ids []string
		for _, d := range got {
			ids = append(ids, stanzaID(t, d))
		}
		kit.ElementsMatch(t, want[to.String()], ids, "ids of stanzas delivered to %s by %d concurrent goroutines", to, routers)
		// Each goroutine's stanzas keep their order (host.Router).
		for g := range routers {
			prefix := fmt.Sprintf("g%d-", g)
			var mine []string
			for _, id := range ids {
				if strings.HasPrefix(id, prefix) {
					mine = append(mine, id)
				}
			}
			var routed []string
			for _, id := range want[to.String()] {
				if strings.HasPrefix(id, prefix) {
					routed = append(routed, id)
				}
			}
			kit.Equal(t, routed, mine, "order of the stanzas goroutine %d routed to %s", g, to)
		}
	}
}

// stanzaID returns the id attribute of the stanza raw.
func stanzaID(t kit.T, raw []byte) string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(string(raw)))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		kit.NoError(t, err, "delivered stanza %q", raw)
		if start, ok := tok.(xml.StartElement); ok {
			for _, a := range start.Attr {
				if a.Name.Local == "id" && a.Name.Space == "" {
					return a.Value
				}
			}
			break
		}
	}
	t.Fatalf("delivered stanza %q has no id", raw)
	return ""
}
