package pam

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
	"github.com/mixpam/mixpam/roster"
)

// The fan-out tests' cast, from XEP-0405's examples.
var (
	fanOutUser    = jid.MustParse("hecate@shakespeare.example")
	fanOutChannel = jid.MustParse("coven@mix.shakespeare.example")
	fanOutContact = jid.MustParse("witch@shakespeare.example")
)

// fanOutMessage is XEP-0405 Listing 1, the message a channel sends to the
// participant's bare JID, with an unknown attribute and child added.
const fanOutMessage = `<message xmlns="jabber:server" from="coven@mix.shakespeare.example/123456" ` +
	`to="hecate@shakespeare.example" id="77E07BB0-55CF-4BD4-890E-3F7C0E686BB0" type="groupchat" ` +
	`xml:lang="en" xmlns:x="urn:example:x" x:flag="1">` +
	`<body>Harpier cries: 'tis time, 'tis time &amp; &lt;more&gt;.</body>` +
	`<mix xmlns="urn:xmpp:mix:core:1"><nick>thirdwitch</nick><jid>hag66@shakespeare.example</jid></mix>` +
	`<stanza-id xmlns="urn:xmpp:sid:0" by="coven@mix.shakespeare.example" id="channel-1"/>` +
	`<unknown xmlns="urn:example:unknown" a="b"><deep>text</deep></unknown>` +
	`</message>`

// fanOutEnv is a FanOut wired to in-memory seams.
type fanOutEnv struct {
	t        testing.TB
	fanOut   *FanOut
	roster   *roster.MemStore
	archive  *archive.MemStore
	sessions *host.MemSessions
	router   *hosttest.Recorder
	logs     *fanOutLogs
}

type fanOutEnvOption func(*FanOutConfig)

func newFanOutEnv(t testing.TB, opts ...fanOutEnvOption) *fanOutEnv {
	t.Helper()
	e := &fanOutEnv{
		t:        t,
		roster:   roster.NewMemStore(),
		archive:  archive.NewMemStore(),
		sessions: host.NewMemSessions(),
		router:   hosttest.NewRecorder(nil),
		logs:     &fanOutLogs{},
	}
	ctx := context.Background()
	_, err := e.roster.Put(ctx, fanOutUser, roster.Item{JID: fanOutChannel, Subscription: roster.From, Channel: true, ParticipantID: "123456"})
	require.NoError(t, err)
	_, err = e.roster.Put(ctx, fanOutUser, roster.Item{JID: fanOutContact, Subscription: roster.Both})
	require.NoError(t, err)
	cfg := FanOutConfig{
		Sessions: e.sessions,
		Router:   e.router,
		Roster:   e.roster,
		Archive:  e.archive,
		Logger:   slog.New(e.logs),
	}
	for _, o := range opts {
		o(&cfg)
	}
	e.fanOut, err = NewFanOut(cfg)
	require.NoError(t, err)
	return e
}

// online adds a session of the user.
func (e *fanOutEnv) online(resource string, mixCapable bool) jid.JID {
	e.t.Helper()
	j, err := fanOutUser.WithResource(resource)
	require.NoError(e.t, err)
	e.sessions.Add(host.Resource{JID: j, MIXCapable: mixCapable, Available: true})
	return j
}

// serve decodes raw and hands it to ServeMessage as a host would: the start
// element, then the decoder.
func (e *fanOutEnv) serve(raw string) (FanOutResult, error) {
	e.t.Helper()
	d := xml.NewDecoder(strings.NewReader(raw))
	start := fanOutFirstStart(e.t, d)
	return e.fanOut.ServeMessage(context.Background(), start, d)
}

// records returns the user's archive.
func (e *fanOutEnv) records() []archive.Record {
	e.t.Helper()
	p, err := e.archive.Query(context.Background(), fanOutUser, archive.Query{Max: 1000})
	require.NoError(e.t, err)
	return p.Records
}

func fanOutFirstStart(t testing.TB, d *xml.Decoder) xml.StartElement {
	t.Helper()
	tok, err := d.Token()
	require.NoError(t, err)
	start, ok := tok.(xml.StartElement)
	require.True(t, ok, "first token %T", tok)
	return start
}

// fanOutElement is a parsed stanza: names with their namespaces, attributes
// sorted, children in order. Comparing two of them compares the XML
// infosets, whatever the serialisation.
type fanOutElement struct {
	Name     xml.Name
	Attr     map[xml.Name]string
	Text     string
	Children []*fanOutElement
}

// parseFanOutElement parses raw strictly, in the jabber:client scope a
// RouteRaw stanza is written into, and fails on anything that is not one
// well-formed element with unique attributes.
func parseFanOutElement(t testing.TB, raw []byte) *fanOutElement {
	t.Helper()
	el, err := fanOutParse(raw)
	require.NoError(t, err, "%s", raw)
	return el
}

func fanOutParse(raw []byte) (*fanOutElement, error) {
	d := xml.NewDecoder(io.MultiReader(strings.NewReader(`<stream xmlns="jabber:client">`), bytes.NewReader(raw), strings.NewReader(`</stream>`)))
	if _, err := d.Token(); err != nil {
		return nil, err
	}
	var stack []*fanOutElement
	var root *fanOutElement
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, errors.New("more than one element")
			}
			el := &fanOutElement{Name: t.Name, Attr: make(map[xml.Name]string)}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns" {
					continue
				}
				if _, dup := el.Attr[a.Name]; dup {
					return nil, errors.New("duplicate attribute " + a.Name.Local)
				}
				el.Attr[a.Name] = a.Value
			}
			if len(stack) == 0 {
				root = el
			} else {
				parent := stack[len(stack)-1]
				parent.Children = append(parent.Children, el)
			}
			stack = append(stack, el)
		case xml.EndElement:
			if len(stack) == 0 {
				// </stream>
				if root == nil {
					return nil, errors.New("no element")
				}
				return root, nil
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) != 0 {
					return nil, errors.New("text outside the element")
				}
				continue
			}
			stack[len(stack)-1].Text += string(t)
		}
	}
}

// fanOutLogs is a slog.Handler that keeps every record.
type fanOutLogs struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *fanOutLogs) Enabled(context.Context, slog.Level) bool { return true }

func (l *fanOutLogs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r.Clone())
	return nil
}

func (l *fanOutLogs) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *fanOutLogs) WithGroup(string) slog.Handler      { return l }

// count returns the number of records at level.
func (l *fanOutLogs) count(level slog.Level) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.records {
		if r.Level == level {
			n++
		}
	}
	return n
}
