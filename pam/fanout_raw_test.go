package pam

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/xmltree"
	"github.com/mixpam/mixpam/ns"
)

// fanOutPlain is fanOutMessage as a MIX service in the host's process
// routes it (host.RawRouter: no xmlns on the top-level element), with no
// prefixes: inside the subset ServeRaw passes on without decoding.
const fanOutPlain = `<message from="coven@mix.shakespeare.example/123456" ` +
	`to='hecate@shakespeare.example' id="77E07BB0" type="groupchat" xml:lang="en">` +
	`<body>Harpier cries: 'tis time &amp; &lt;more&gt; &#233;&#x2603;.</body>` +
	`<mix xmlns="urn:xmpp:mix:core:1"><nick>thirdwitch</nick><jid>hag66@shakespeare.example</jid></mix>` +
	`<stanza-id xmlns="urn:xmpp:sid:0" by="coven@mix.shakespeare.example" id="channel-1"/>` +
	"\n <unknown xmlns=\"urn:example:unknown\" a='b'><deep>text</deep></unknown>\n" +
	`</message >`

// fanOutServed is what one entry point did with a message: its result, and
// the archived and delivered stanzas as trees, the user's stanza-id's id
// replaced by "ID".
type fanOutServed struct {
	action    FanOutAction
	delivered int
	failed    bool
	stanzas   [][]string
}

// serveBoth hands raw to a fresh environment's ServeMessage (decoded, as a
// host with a decoder does) and to another's ServeRaw.
func serveBoth(t *testing.T, raw []byte) (decoded, rawServed fanOutServed) {
	t.Helper()
	run := func(serve func(e *fanOutEnv) (FanOutResult, error)) fanOutServed {
		e := newFanOutEnv(t)
		e.online("UUID-x4r/2491", true)
		e.online("UUID-b5b/0114", true)
		e.online("legacy", false)
		res, err := serve(e)
		got := fanOutServed{action: res.Action, delivered: res.Delivered, failed: err != nil}
		page, qerr := e.archive.Query(context.Background(), fanOutUser, archive.Query{Max: 10})
		require.NoError(t, qerr)
		var stanzas [][]byte
		for _, r := range page.Records {
			stanzas = append(stanzas, r.Stanza)
		}
		for _, d := range e.router.Deliveries() {
			stanzas = append(stanzas, d.Stanza)
		}
		for _, s := range stanzas {
			if res.ID != "" {
				s = bytes.ReplaceAll(s, []byte(res.ID), []byte("ID"))
			}
			events, n, err := xmltree.Events(s, ns.Client)
			require.NoError(t, err, "%s", s)
			require.Equal(t, 1, n, "%s", s)
			got.stanzas = append(got.stanzas, events)
		}
		return got
	}
	decoded = run(func(e *fanOutEnv) (FanOutResult, error) {
		d := xml.NewDecoder(bytes.NewReader(raw))
		tok, err := d.Token()
		start, ok := tok.(xml.StartElement)
		if err != nil || !ok {
			// Not even a start tag: not the fan-out's, as ServeRaw says.
			return FanOutResult{}, host.ErrNotHandled
		}
		return e.fanOut.ServeMessage(context.Background(), start, d)
	})
	rawServed = run(func(e *fanOutEnv) (FanOutResult, error) {
		return e.fanOut.ServeRaw(context.Background(), raw)
	})
	return decoded, rawServed
}

// fanOutCorpus returns the fan-out's fuzz seeds and test messages, each also
// without its top-level xmlns (as a RawRouter stanza is written).
func fanOutCorpus(t testing.TB) map[string][]byte {
	t.Helper()
	corpus := map[string][]byte{"plain": []byte(fanOutPlain), "listing": []byte(fanOutMessage), "typical": []byte(fanOutTypical)}
	dir := filepath.Join("testdata", "fuzz", "FuzzFanOut")
	files, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f.Name()))
		require.NoError(t, err)
		line := strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[1])
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(line, "[]byte("), ")"))
		require.NoError(t, err, f.Name())
		corpus[f.Name()] = []byte(s)
	}
	for name, raw := range corpus {
		for _, x := range []string{` xmlns="jabber:server"`, ` xmlns='jabber:server'`, ` xmlns="jabber:client"`, ` xmlns='jabber:client'`} {
			if i := bytes.Index(raw, []byte(x)); i >= 0 && i < bytes.IndexByte(raw, '>') {
				corpus[name+"/no-xmlns"] = append(bytes.Clone(raw[:i]), raw[i+len(x):]...)
			}
		}
	}
	return corpus
}

// TestFanOutRawSameAsDecoded: ServeRaw does to every message of the
// fan-out's corpus exactly what ServeMessage does to it decoded.
func TestFanOutRawSameAsDecoded(t *testing.T) {
	for name, raw := range fanOutCorpus(t) {
		t.Run(name, func(t *testing.T) {
			decoded, got := serveBoth(t, raw)
			require.Equal(t, decoded, got)
		})
	}
}

// TestFanOutRawPassesBytesOn: a message in the subset is passed on as the
// channel wrote it, but for to, forged stanza-ids and the user's stanza-id:
// no decoding, no rewriting.
func TestFanOutRawPassesBytesOn(t *testing.T) {
	forged := `<stanza-id xmlns="urn:xmpp:sid:0" by="HECATE@shakespeare.example" id="forged-1"/>` +
		`<stanza-id xmlns='urn:xmpp:sid:0' id="forged-2" by="hecate@shakespeare.example"><nested/>text</stanza-id>`
	kept := `<stanza-id xmlns="urn:xmpp:sid:0" by="hecate@shakespeare.example/UUID-x4r/2491" id="full-jid"/>` +
		`<stanza-id xmlns="urn:example:other" by="hecate@shakespeare.example" id="other-ns"/>` +
		`<wrapper xmlns="urn:example:w"><stanza-id xmlns="urn:xmpp:sid:0" by="hecate@shakespeare.example" id="nested"/></wrapper>`
	in := strings.Replace(fanOutPlain, "</message >", forged+"x"+kept+"</message >", 1)

	e := newFanOutEnv(t)
	sc := e.fanOut.getScratch()
	require.True(t, sc.captureRaw([]byte(in), fanOutUser, fanOutUserBare), "in the subset")

	c := e.online("UUID-x4r/2491", true)
	res, err := e.fanOut.ServeRaw(context.Background(), []byte(in))
	require.NoError(t, err)
	require.Equal(t, FanOutAccepted, res.Action)
	start := `<message from="coven@mix.shakespeare.example/123456" id="77E07BB0" type="groupchat" xml:lang="en">`
	content := in[strings.Index(in, "<body>"):strings.Index(in, forged)] + "x" + kept
	sid := `<stanza-id xmlns="urn:xmpp:sid:0" by="hecate@shakespeare.example" id="` + res.ID + `"/></message>`
	archived := strings.Replace(start, "<message", `<message to="hecate@shakespeare.example"`, 1) + content + sid
	live := strings.Replace(start, "<message", `<message to="`+c.String()+`"`, 1) + content + sid
	require.Equal(t, archived, string(e.records()[0].Stanza))
	require.Equal(t, live, string(e.router.To(c)[0].Stanza))
	requireFanOutCopy(t, e.records()[0].Stanza, in, fanOutUserBare, res.ID)
}

// TestFanOutRawMalformed: bytes that are not one well-formed element are
// dropped as failed, whether or not they look like the subset, and nothing
// is archived or delivered.
func TestFanOutRawMalformed(t *testing.T) {
	open := `<message from="coven@mix.shakespeare.example/1" to="hecate@shakespeare.example" type="groupchat">`
	for name, raw := range map[string]string{
		"unclosed child":     open + `<body>x</message>`,
		"wrong end tag":      open + `<body>x</bdy></message>`,
		"cut short":          open + `<body>x</body>`,
		"unknown entity":     open + `<body>&nbsp;</body></message>`,
		"bad character ref":  open + `<body>&#1;</body></message>`,
		"control character":  open + "<body>\x01</body></message>",
		"invalid UTF-8":      open + "<body>\xff</body></message>",
		"lt in an attribute": open + `<body a="<">x</body></message>`,
		"unquoted attribute": open + `<body a=1>x</body></message>`,
		"two stanzas?":       open + `</message></message>`,
	} {
		t.Run(name, func(t *testing.T) {
			e := newFanOutEnv(t)
			e.online("UUID-x4r/2491", true)
			res, err := e.fanOut.ServeRaw(context.Background(), []byte(raw))
			if name == "two stanzas?" {
				// The decoder stops at the message's end, as ServeMessage
				// does on a stream: the message itself is well-formed.
				require.Equal(t, FanOutAccepted, res.Action)
				return
			}
			require.Error(t, err)
			require.Equal(t, FanOutFailed, res.Action)
			require.Empty(t, e.records())
			require.Empty(t, e.router.Deliveries())
			require.Equal(t, FanOutStats{Malformed: 1}, e.fanOut.Stats())
		})
	}
}

// TestFanOutRawBlockFilterOnce: the raw path asks the block filter once per
// message, before the roster, like ServeMessage.
func TestFanOutRawBlockFilterOnce(t *testing.T) {
	for _, blocked := range []bool{false, true} {
		filter := &fanOutBlockFilter{blocked: map[string]bool{"coven@mix.shakespeare.example/123456": blocked}}
		e := newFanOutEnv(t, func(c *FanOutConfig) { c.Block = filter })
		e.online("UUID-x4r/2491", true)
		res, err := e.fanOut.ServeRaw(context.Background(), []byte(fanOutPlain))
		require.NoError(t, err)
		require.Equal(t, []string{"hecate@shakespeare.example coven@mix.shakespeare.example/123456"}, filter.calls)
		if blocked {
			require.Equal(t, FanOutBlocked, res.Action)
			require.Empty(t, e.records())
			continue
		}
		require.Equal(t, FanOutAccepted, res.Action)
		require.Len(t, e.records(), 1)
	}
}

// FuzzFanOutRaw: whatever the bytes, ServeRaw does what ServeMessage does
// with them decoded (same action, same archived and delivered trees), and
// never panics. Seeds: FuzzFanOut's corpus and the messages of the tests.
func FuzzFanOutRaw(f *testing.F) {
	for _, raw := range fanOutCorpus(f) {
		f.Add(raw)
	}
	f.Add([]byte(strings.Replace(fanOutPlain, "</message >", `<stanza-id xmlns="urn:xmpp:sid:0" by="hecate@shakespeare.example" id="f"/></message>`, 1)))
	f.Fuzz(func(t *testing.T, raw []byte) {
		decoded, got := serveBoth(t, raw)
		if decoded.action != got.action || decoded.delivered != got.delivered || decoded.failed != got.failed {
			t.Fatalf("decoded %+v, raw %+v: %q", decoded, got, raw)
		}
		require.Equal(t, decoded.stanzas, got.stanzas, "%q", raw)
	})
}
