package testclient

import (
	"context"
	"encoding/xml"
	"strconv"
	"sync"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/examples/memserver/internal/server"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/ns"
)

// FakeMIX is a minimal MIX service (XEP-0369) for tests of the participant
// server: any channel exists; join gives participant id 1, 2, … in order;
// leave removes; a groupchat message from a participant is sent to every
// participant's bare JID from channel/pid with a new id "m1", "m2", …; a
// presence from a participant's full JID (available or unavailable) is sent on to every participant
// from pid#channel@service/resource (XEP-0403). Everything else gets
// service-unavailable. It sends only through the router, as the real
// service does.
type FakeMIX struct {
	domain string
	router host.RawRouter

	mu      sync.Mutex
	members map[string]map[string]string // channel → user bare JID → pid
	next    int
}

// NewFakeMIX returns a server.Config.NewMIX for a FakeMIX serving domain;
// got receives the service once built.
func NewFakeMIX(domain string, got **FakeMIX) func(host.RawRouter) server.MIXService {
	return func(r host.RawRouter) server.MIXService {
		f := &FakeMIX{domain: domain, router: r, members: make(map[string]map[string]string)}
		if got != nil {
			*got = f
		}
		return f
	}
}

// Close implements server.MIXService.
func (f *FakeMIX) Close() error { return nil }

// Participants returns the number of participants of channel.
func (f *FakeMIX) Participants(channel jid.JID) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.members[channel.String()])
}

// Deliver implements server.MIXService.
func (f *FakeMIX) Deliver(ctx context.Context, raw []byte) error {
	p, err := packet.Parse(raw)
	if err != nil {
		return err
	}
	channel := p.To.Bare()
	switch {
	case p.Kind == packet.IQ && p.Type == string(stanza.SetIQ) && hasChild(p, ns.MIXCore, "join"):
		return f.join(ctx, p, channel)
	case p.Kind == packet.IQ && p.Type == string(stanza.SetIQ) && hasChild(p, ns.MIXCore, "leave"):
		f.mu.Lock()
		delete(f.members[channel.String()], p.From.Bare().String())
		f.mu.Unlock()
		return f.send(ctx, p.From, p.IQ().Result(xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: ns.MIXCore, Local: "leave"}})))
	case p.Kind == packet.Message && p.Type == string(stanza.GroupChatMessage):
		return f.reflect(ctx, p, channel)
	case p.Kind == packet.Presence && (p.Type == "" || p.Type == string(stanza.UnavailablePresence)):
		return f.presence(ctx, p, channel)
	case p.IsRequest():
		return f.send(ctx, p.From, p.IQ().Error(packet.Err(stanza.ServiceUnavailable, "fake MIX service")))
	}
	return nil
}

func (f *FakeMIX) join(ctx context.Context, p packet.Packet, channel jid.JID) error {
	f.mu.Lock()
	m := f.members[channel.String()]
	if m == nil {
		m = make(map[string]string)
		f.members[channel.String()] = m
	}
	pid, ok := m[p.From.Bare().String()]
	if !ok {
		f.next++
		pid = strconv.Itoa(f.next)
		m[p.From.Bare().String()] = pid
	}
	f.mu.Unlock()
	encoded := pid + "#" + channel.String()
	res := xml.StartElement{Name: xml.Name{Space: ns.MIXCore, Local: "join"}, Attr: []xml.Attr{{Name: xml.Name{Local: "id"}, Value: pid}, {Name: xml.Name{Local: "jid"}, Value: encoded}}}
	sub := xml.StartElement{Name: xml.Name{Space: ns.MIXCore, Local: "subscribe"}, Attr: []xml.Attr{{Name: xml.Name{Local: "node"}, Value: "urn:xmpp:mix:nodes:messages"}}}
	return f.send(ctx, p.From, p.IQ().Result(xmlstream.Wrap(xmlstream.Wrap(nil, sub), res)))
}

func (f *FakeMIX) reflect(ctx context.Context, p packet.Packet, channel jid.JID) error {
	f.mu.Lock()
	pid, ok := f.members[channel.String()][p.From.Bare().String()]
	var to []string
	for u := range f.members[channel.String()] {
		to = append(to, u)
	}
	f.next++
	id := "m" + strconv.Itoa(f.next)
	f.mu.Unlock()
	if !ok {
		return f.send(ctx, p.From, p.Message().Error(packet.Err(stanza.Forbidden, "not a participant")))
	}
	from, err := channel.WithResource(pid)
	if err != nil {
		return err
	}
	for _, u := range to {
		user := jid.MustParse(u)
		msg := stanza.Message{ID: id, From: from, To: user, Type: stanza.GroupChatMessage}
		body := xmlstream.Wrap(xmlstream.Token(xml.CharData(bodyOf(p))), xml.StartElement{Name: xml.Name{Local: "body"}})
		mix := xmlstream.Wrap(xmlstream.Wrap(xmlstream.Token(xml.CharData(p.From.Bare().String())), xml.StartElement{Name: xml.Name{Space: ns.MIXCore, Local: "jid"}}), xml.StartElement{Name: xml.Name{Space: ns.MIXCore, Local: "mix"}})
		if err := f.send(ctx, user, msg.Wrap(xmlstream.MultiReader(body, mix))); err != nil {
			return err
		}
	}
	return nil
}

func (f *FakeMIX) presence(ctx context.Context, p packet.Packet, channel jid.JID) error {
	f.mu.Lock()
	pid, ok := f.members[channel.String()][p.From.Bare().String()]
	var to []string
	for u := range f.members[channel.String()] {
		to = append(to, u)
	}
	f.mu.Unlock()
	if !ok {
		return nil
	}
	from, err := jid.New(pid+"#"+channel.Localpart(), channel.Domainpart(), p.From.Resourcepart())
	if err != nil {
		return err
	}
	for _, u := range to {
		user := jid.MustParse(u)
		if err := f.send(ctx, user, stanza.Presence{From: from, To: user, Type: stanza.PresenceType(p.Type)}.Wrap(nil)); err != nil {
			return err
		}
	}
	return nil
}

func (f *FakeMIX) send(ctx context.Context, to jid.JID, r xml.TokenReader) error {
	raw, err := host.AppendStanza(nil, r)
	if err != nil {
		return err
	}
	return f.router.RouteRaw(ctx, to, raw)
}

func hasChild(p packet.Packet, space, local string) bool {
	start, ok := firstStart(p)
	return ok && start.Name.Space == space && start.Name.Local == local
}

// bodyOf returns the text of the message's <body/>.
func bodyOf(p packet.Packet) string {
	var body struct {
		Body string `xml:"body"`
	}
	_ = xml.Unmarshal(p.Raw, &body)
	return body.Body
}
