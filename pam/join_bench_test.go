package pam

import (
	"bytes"
	"context"
	"encoding/xml"
	"testing"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/ns"
	"github.com/mixpam/mixpam/roster"
)

// benchNet is the network of BenchmarkJoinLeave: deliveries to the channel
// are answered at once through the exchange (an in-process channel);
// answers to the client are signalled, roster pushes dropped.
type benchNet struct {
	ex      *host.Exchange
	answers chan struct{}
}

var (
	benchJoinResult  = []byte(`<join xmlns="urn:xmpp:mix:core:1" id="123456"><subscribe node="urn:xmpp:mix:nodes:messages"/><subscribe node="urn:xmpp:mix:nodes:presence"/><subscribe node="urn:xmpp:mix:nodes:participants"/><subscribe node="urn:xmpp:mix:nodes:info"/><nick>third witch</nick></join>`)
	benchLeaveResult = []byte(`<leave xmlns="urn:xmpp:mix:core:1"/>`)
	benchClientJoin  = []byte(`<client-join xmlns='urn:xmpp:mix:pam:2' channel='coven@mix.shakespeare.example'><join xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:messages'/><subscribe node='urn:xmpp:mix:nodes:presence'/><subscribe node='urn:xmpp:mix:nodes:participants'/><subscribe node='urn:xmpp:mix:nodes:info'/><nick>third witch</nick></join></client-join>`)
	benchClientLeave = []byte(`<client-leave xmlns='urn:xmpp:mix:pam:2' channel='coven@mix.shakespeare.example'><leave xmlns='urn:xmpp:mix:core:1'/></client-leave>`)
)

// Route is the channel: it reads the request and answers it.
func (n *benchNet) Route(_ context.Context, _ jid.JID, r xml.TokenReader) error {
	tok, err := r.Token()
	if err != nil {
		return err
	}
	req, err := stanza.NewIQ(tok.(xml.StartElement))
	if err != nil {
		return err
	}
	tok, err = r.Token()
	if err != nil {
		return err
	}
	result := benchJoinResult
	if tok.(xml.StartElement).Name.Local == "leave" {
		result = benchLeaveResult
	}
	if _, err := xmlstream.Copy(xmlstream.Discard(), r); err != nil {
		return err
	}
	_, err = n.ex.Receive(stanza.IQ{Type: stanza.ResultIQ, From: req.To, To: req.From, ID: req.ID},
		xml.NewDecoder(bytes.NewReader(result)))
	return err
}

// RouteRaw is the client's session: pushes are dropped, answers signalled.
func (n *benchNet) RouteRaw(_ context.Context, _ jid.JID, raw []byte) error {
	if !bytes.HasPrefix(raw, []byte(`<iq type="set"`)) {
		n.answers <- struct{}{}
	}
	return nil
}

// BenchmarkJoinLeave measures a full client-join and client-leave round
// trip: parse the client's request, forward it, match the in-process
// channel's answer, write and push the roster item, answer the client. The
// baseline is one decode and serialisation of the same client-join, which
// any server pays to read the stanza and write it on.
func BenchmarkJoinLeave(b *testing.B) {
	b.Run("baseline-xmlenc", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			var err error
			buf, err = xmlenc.Append(buf[:0], xml.NewDecoder(bytes.NewReader(benchClientJoin)), ns.Client)
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("mixpam", func(b *testing.B) {
		net := &benchNet{answers: make(chan struct{}, 1)}
		net.ex = host.NewExchange(net)
		sessions := host.NewMemSessions()
		sessions.Add(host.Resource{JID: testClientA, Interested: true, MIXCapable: true, Annotate: true, Available: true})
		h, err := NewJoinHandler(JoinConfig{Exchanger: net.ex, Roster: newRoster(b, roster.NewMemStore(), sessions, net)})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		reply := host.RouteReplies(net)
		join := stanza.IQ{Type: stanza.SetIQ, From: testClientA, ID: "join-1"}
		leave := stanza.IQ{Type: stanza.SetIQ, From: testClientA, ID: "leave-1"}
		b.ReportAllocs()
		for b.Loop() {
			if err := h.ServeIQ(ctx, join, xml.NewDecoder(bytes.NewReader(benchClientJoin)), reply); err != nil {
				b.Fatal(err)
			}
			<-net.answers
			if err := h.ServeIQ(ctx, leave, xml.NewDecoder(bytes.NewReader(benchClientLeave)), reply); err != nil {
				b.Fatal(err)
			}
			<-net.answers
		}
		b.StopTimer()
		if err := h.Shutdown(ctx); err != nil {
			b.Fatal(err)
		}
	})
}
