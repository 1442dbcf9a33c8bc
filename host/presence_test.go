package host_test

import (
	"context"
	"encoding/xml"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"
	"mellium.im/xmpp/stream"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/ns"
)

// served is one presence as a PresenceHandler was given it.
type served struct {
	id, from, typ, payload string
}

// serveStream runs a real mellium Session serving mux options on one end of
// a pipe and returns the other end, as a client writes to it, and the
// error Serve returned once the stream ends.
func serveStream(t *testing.T, opts ...mux.Option) (client net.Conn, done <-chan error) {
	t.Helper()
	clientEnd, serverEnd := net.Pipe()
	t.Cleanup(func() { _ = clientEnd.Close() })
	// What the server writes (a stream error) is read and dropped.
	go func() { _, _ = io.Copy(io.Discard, clientEnd) }()
	// The stream header the test client sends is read here; no features.
	header := func(_ context.Context, in, out *stream.Info, s *xmpp.Session, _ any) (xmpp.SessionState, io.ReadWriter, any, error) {
		r := s.TokenReader()
		defer r.Close()
		_, err := r.Token()
		in.XMLNS, out.XMLNS = ns.Client, ns.Client
		return xmpp.Ready | xmpp.Authn | xmpp.Secure, nil, nil, err
	}
	errc := make(chan error, 1)
	go func() {
		s, err := xmpp.NewSession(t.Context(), jid.MustParse("capulet.lit"), jid.MustParse("juliet@capulet.lit/balcony"),
			serverEnd, xmpp.Received, header)
		if err == nil {
			err = s.Serve(mux.New(ns.Client, opts...))
		}
		errc <- err
	}()
	_, err := io.WriteString(clientEnd, `<stream xmlns="jabber:client">`)
	require.NoError(t, err)
	return clientEnd, errc
}

// recorder is a PresenceHandler that passes on what it serves; with
// notMine it serves only the marker (id "marker").
func recorder(out chan<- served, notMine bool) host.PresenceHandler {
	return host.PresenceHandlerFunc(func(_ context.Context, p stanza.Presence, payload xml.TokenReader) error {
		if notMine && p.ID != "marker" {
			return host.ErrNotHandled
		}
		raw, err := host.AppendStanza(nil, payload)
		out <- served{id: p.ID, from: p.From.String(), typ: string(p.Type), payload: string(raw)}
		return err
	})
}

// TestMuxPresence drives host.MuxPresence through a real mellium Session:
// each presence reaches the handler once, whatever its children, with from
// the session's; another handler on the same mux keeps the children it
// registered for; subscriptions are not mixpam's.
func TestMuxPresence(t *testing.T) {
	session := jid.MustParse("juliet@capulet.lit/balcony")
	capsName := xml.Name{Space: "http://jabber.org/protocol/caps", Local: "c"}
	for _, tc := range []struct {
		name    string
		in      string
		want    []served
		caps    int // calls of the caps handler
		notMine bool
	}{
		{name: "no children", in: `<presence/>`,
			want: []served{{from: session.String()}}},
		{name: "a forged from is the session's", in: `<presence from="romeo@montague.lit/orchard" type="unavailable"/>`,
			want: []served{{from: session.String(), typ: "unavailable"}}},
		{name: "three children, served once",
			in:   `<presence><show>away</show><status>brewing</status><priority>-1</priority></presence>`,
			want: []served{{from: session.String(), payload: `<show>away</show><status>brewing</status><priority>-1</priority>`}}},
		{name: "a child another handler takes",
			in:   `<presence><c xmlns="http://jabber.org/protocol/caps" hash="sha-1" node="n" ver="v"/><priority>1</priority><c xmlns="http://jabber.org/protocol/caps" hash="sha-1" node="m" ver="w"/></presence>`,
			want: []served{{from: session.String(), payload: `<c xmlns="http://jabber.org/protocol/caps" hash="sha-1" node="n" ver="v"></c><priority>1</priority><c xmlns="http://jabber.org/protocol/caps" hash="sha-1" node="m" ver="w"></c>`}},
			caps: 2},
		{name: "the caps child first, then one of the adapter's",
			in:   `<presence><c xmlns="http://jabber.org/protocol/caps" hash="sha-1" node="n" ver="v"/><show>dnd</show></presence>`,
			want: []served{{from: session.String(), payload: `<c xmlns="http://jabber.org/protocol/caps" hash="sha-1" node="n" ver="v"></c><show>dnd</show>`}},
			caps: 1},
		// The limits mellium's mux sets (MuxPresence's doc).
		{name: "every child taken by another handler",
			in: `<presence><c xmlns="http://jabber.org/protocol/caps" hash="sha-1" node="n" ver="v"/></presence>`, caps: 1},
		{name: "whitespace only", in: "<presence>\n</presence>"},
		{name: "a subscription is the host's", in: `<presence type="subscribe" to="romeo@montague.lit"><status>hi</status></presence>`},
		{name: "probe", in: `<presence type="probe" to="juliet@capulet.lit"/>`,
			want: []served{{from: session.String(), typ: "probe"}}},
		{name: "not mine is not an error", in: `<presence><show>xa</show><status>x</status></presence>`,
			notMine: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan served, 16)
			caps := make(chan struct{}, 16)
			client, done := serveStream(t,
				host.MuxPresence(t.Context(), recorder(got, tc.notMine), session),
				mux.PresenceFunc(stanza.AvailablePresence, capsName, func(stanza.Presence, xmlstream.TokenReadEncoder) error {
					caps <- struct{}{}
					return nil
				}))
			// The stanza, the same once more, then a marker: the handler
			// sees each stanza once and in order.
			for _, raw := range []string{tc.in, tc.in, `<presence id="marker"/>`} {
				_, err := io.WriteString(client, raw)
				require.NoError(t, err)
			}
			var seen []served
			for marker := false; !marker; {
				select {
				case s := <-got:
					if marker = s.id == "marker"; !marker {
						seen = append(seen, s)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("no marker within 10s; seen %v", seen)
				}
			}
			require.Equal(t, append(slices.Clone(tc.want), tc.want...), seen)
			require.Len(t, caps, 2*tc.caps, "calls of the caps handler")
			_ = client.Close()
			<-done
		})
	}
}

// TestMuxPresenceServerStream: on a server-to-server stream (zero session)
// a presence keeps the from the host verified, and one without from ends
// the stream.
func TestMuxPresenceServerStream(t *testing.T) {
	got := make(chan served, 4)
	client, done := serveStream(t, host.MuxPresence(t.Context(), recorder(got, false), jid.JID{}))
	_, err := io.WriteString(client, `<presence from="coven@mix.capulet.lit/123456" to="juliet@capulet.lit"><show>chat</show></presence><presence/>`)
	require.NoError(t, err)
	select {
	case s := <-got:
		require.Equal(t, served{from: "coven@mix.capulet.lit/123456", payload: "<show>chat</show>"}, s)
	case <-time.After(10 * time.Second):
		t.Fatal("the presence with from was not served within 10s")
	}
	select {
	case err := <-done:
		require.ErrorIs(t, err, host.ErrNoSender)
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end within 10s of a presence without from")
	}
	require.Empty(t, got)
}
