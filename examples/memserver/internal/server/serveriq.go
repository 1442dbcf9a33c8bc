package server

import (
	"context"
	"encoding/xml"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/disco/items"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
)

// Namespaces of the IQs the server answers itself.
const (
	nsDiscoInfo  = "http://jabber.org/protocol/disco#info"
	nsDiscoItems = "http://jabber.org/protocol/disco#items"
	nsPing       = "urn:xmpp:ping"
	nsSession    = "urn:ietf:params:xml:ns:xmpp-session"
)

// newHandlers builds the IQ tables of the server's domain and of accounts.
func (s *Server) newHandlers() handlers {
	h := handlers{server: make(map[xml.Name]iqRoute), account: make(map[xml.Name]iqRoute)}
	pong := iqRoute{fn: func(_ context.Context, p packet.Packet) xml.TokenReader { return result(p) }}
	// XEP-0199 ping, and the legacy session establishment of RFC 3921 §3,
	// which some clients still send and which needs nothing but a result.
	for _, name := range []xml.Name{{Space: nsPing, Local: "ping"}, {Space: nsSession, Local: "session"}} {
		h.server[name] = pong
		h.account[name] = iqRoute{fn: pong.fn, ownerOnly: true}
	}
	h.server[xml.Name{Space: nsDiscoInfo, Local: "query"}] = iqRoute{fn: s.serverInfo}
	h.server[xml.Name{Space: nsDiscoItems, Local: "query"}] = iqRoute{fn: s.serverItems}
	return h
}

// serverInfo answers disco#info on the server's domain (XEP-0030 §3.1).
func (s *Server) serverInfo(_ context.Context, p packet.Packet) xml.TokenReader {
	if node := queryNode(p); node != "" {
		return p.IQ().Error(packet.Err(stanza.ItemNotFound, "the server has no info nodes"))
	}
	toks := []xml.TokenReader{info.Identity{Category: "server", Type: "im", Name: "mixpam memserver"}.TokenReader()}
	for _, f := range []string{nsDiscoInfo, nsDiscoItems, nsPing, blocking.NS} {
		toks = append(toks, info.Feature{Var: f}.TokenReader())
	}
	query := xmlstream.Wrap(xmlstream.MultiReader(toks...), xml.StartElement{Name: xml.Name{Space: nsDiscoInfo, Local: "query"}})
	return p.IQ().Result(query)
}

// serverItems answers disco#items on the server's domain with the MIX service
// and the component domains (XEP-0030 §4; XEP-0369 §6.1 has clients find
// MIX services this way).
func (s *Server) serverItems(_ context.Context, p packet.Packet) xml.TokenReader {
	if node := queryNode(p); node != "" {
		return p.IQ().Error(packet.Err(stanza.ItemNotFound, "the server has no item nodes"))
	}
	var toks []xml.TokenReader
	for _, d := range s.serviceDomains() {
		toks = append(toks, items.Item{JID: d}.TokenReader())
	}
	query := xmlstream.Wrap(xmlstream.MultiReader(toks...), xml.StartElement{Name: xml.Name{Space: nsDiscoItems, Local: "query"}})
	return p.IQ().Result(query)
}

// queryNode returns the node attribute of the IQ's <query/>.
func queryNode(p packet.Packet) string {
	r := p.Payload()
	for {
		tok, err := r.Token()
		if err != nil {
			return ""
		}
		if start, ok := tok.(xml.StartElement); ok {
			for _, a := range start.Attr {
				if a.Name.Space == "" && a.Name.Local == "node" {
					return a.Value
				}
			}
			return ""
		}
	}
}
