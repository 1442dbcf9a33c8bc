package mixservice

import (
	"encoding/xml"
	"strings"

	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/ns"
)

// This file dispatches IQ requests to the functions that answer them.

// Namespaces of the requests the service reads, beyond package ns.
const (
	nsDiscoInfo  = "http://jabber.org/protocol/disco#info"  // XEP-0030
	nsDiscoItems = "http://jabber.org/protocol/disco#items" // XEP-0030
	nsPubSub     = "http://jabber.org/protocol/pubsub"      // XEP-0060
	nsMAM        = "urn:xmpp:mam:2"                         // XEP-0313
)

// iqRoute says which function answers a request: the one for requests of
// type typ, whose element is name, sent to dest.
type iqRoute struct {
	dest   dest
	typ    string
	name   xml.Name
	answer func(s *Service, in *inbound, req request) handler
}

// iqRoutes lists the requests the service answers.
var iqRoutes = [...]iqRoute{
	{destService, typeGet, xml.Name{Space: nsDiscoInfo, Local: "query"}, (*Service).serviceInfo},
	{destService, typeGet, xml.Name{Space: nsDiscoItems, Local: "query"}, (*Service).serviceItems},
	{destService, typeSet, xml.Name{Space: ns.MIXCore, Local: "create"}, (*Service).create},
	{destService, typeSet, xml.Name{Space: ns.MIXCore, Local: "destroy"}, (*Service).destroy},
	{destChannel, typeGet, xml.Name{Space: nsDiscoInfo, Local: "query"}, (*Service).channelInfo},
	{destChannel, typeGet, xml.Name{Space: nsDiscoItems, Local: "query"}, (*Service).channelItems},
	{destChannel, typeGet, xml.Name{Space: nsPubSub, Local: "pubsub"}, (*Service).nodeItems},
	{destChannel, typeSet, xml.Name{Space: ns.MIXCore, Local: "join"}, (*Service).join},
	{destChannel, typeSet, xml.Name{Space: ns.MIXCore, Local: "leave"}, (*Service).leave},
	{destChannel, typeSet, xml.Name{Space: ns.MIXCore, Local: "setnick"}, (*Service).setNick},
	{destChannel, typeSet, xml.Name{Space: ns.MIXCore, Local: "update-subscription"}, (*Service).updateSubscription},
}

// prepareIQ reads an IQ addressed to d and returns what answers it. Every
// IQ that is not a result or an error gets exactly one answer.
func (s *Service) prepareIQ(in *inbound, d dest) handler {
	if in.typ != typeGet && in.typ != typeSet {
		return in.refuse(stanzaError(stanza.BadRequest, "an IQ's type must be get, set, result or error"))
	}
	req, err := in.readRequest()
	if err != nil {
		return in.refuse(stanzaError(stanza.BadRequest, err.Error()))
	}
	if d == destOther {
		return in.refuse(stanzaError(stanza.ServiceUnavailable, "this address offers no service: the service and its channels do (IQ relay through participant JIDs is not offered)"))
	}
	var wrongType *iqRoute
	for i := range iqRoutes {
		r := &iqRoutes[i]
		if r.dest != d || r.name != req.name {
			continue
		}
		if r.typ == in.typ {
			return r.answer(s, in, req)
		}
		wrongType = r
	}
	switch {
	case wrongType != nil:
		return in.refuse(stanzaError(stanza.BadRequest, "<"+req.name.Local+"/> must be sent in an IQ of type "+wrongType.typ))
	case isKnownNamespace(req.name.Space):
		return in.refuse(stanzaError(stanza.FeatureNotImplemented, "<"+req.name.Local+" xmlns='"+req.name.Space+"'/> is not implemented here"))
	}
	return in.refuse(stanzaError(stanza.ServiceUnavailable, "the namespace "+req.name.Space+" is not supported here"))
}

// isKnownNamespace reports whether space belongs to a protocol the service
// implements part of: what it does not implement of it is
// feature-not-implemented rather than service-unavailable (RFC 6120
// §8.3.3.3, §8.3.3.19).
func isKnownNamespace(space string) bool {
	switch space {
	case nsDiscoInfo, nsDiscoItems, nsPubSub, nsMAM:
		return true
	}
	return strings.HasPrefix(space, "urn:xmpp:mix:")
}

// onChannel returns a handler that runs answer on the channel the request
// is addressed to, and answers item-not-found when there is none.
func onChannel(in *inbound, answer func(c *channel) []outgoing) handler {
	return func(c *channel) []outgoing {
		if c == nil {
			return noChannel(in)
		}
		return answer(c)
	}
}

// noChannel answers in, addressed to a channel that does not exist.
func noChannel(in *inbound) []outgoing {
	return fail(in, stanza.ItemNotFound, "there is no channel "+in.to.String())
}

// answer returns in's result with payload, as the only stanza to send.
func answer(in *inbound, payload []byte) []outgoing {
	return []outgoing{in.result(payload)}
}

// fail returns in's error answer, as the only stanza to send.
func fail(in *inbound, cond stanza.Condition, text string) []outgoing {
	return []outgoing{in.errorReply(stanzaError(cond, text))}
}
