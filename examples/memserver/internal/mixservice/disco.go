package mixservice

import (
	"slices"

	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/ns"
)

// This file answers service discovery (XEP-0030) for the service and its
// channels (XEP-0369 §6).

// Features of the service (§6.1; #create-channel, §7.3.1: anyone may
// create channels) and of a channel (§6.3, with XEP-0359 §5: channels
// follow its rules for the stanza-ids they add). Channels do not advertise
// MAM, which they do not implement.
var (
	serviceFeatures = [...]string{nsDiscoInfo, nsDiscoItems, ns.MIXCore, ns.MIXCore + "#create-channel"}
	channelFeatures = [...]string{nsDiscoInfo, nsDiscoItems, ns.MIXCore, ns.StanzaID}
)

// mixNode is the node of the disco#items query that lists a channel's
// nodes (§6.4).
const mixNode = "mix"

// appendInfo appends a disco#info result with a conference/mix identity
// called name, and features.
func appendInfo(dst []byte, name string, features []string) []byte {
	dst = appendOpen(dst, "query", nsDiscoInfo)
	dst = append(dst, `><identity category="conference" type="mix"`...)
	dst = appendAttr(dst, "name", name)
	dst = append(dst, "/>"...)
	for _, f := range features {
		dst = append(dst, "<feature"...)
		dst = appendAttr(dst, "var", f)
		dst = append(dst, "/>"...)
	}
	return append(dst, "</query>"...)
}

// noNode returns the refusal of a disco query to a node that does not
// exist, or nil when req names no node.
func noNode(in *inbound, req request) handler {
	if node, ok := attr(req.attr, "node"); ok {
		return in.refuse(stanzaError(stanza.ItemNotFound, "there is no node "+node+" here"))
	}
	return nil
}

// serviceInfo answers disco#info to the service (§6.1).
func (s *Service) serviceInfo(in *inbound, req request) handler {
	if h := noNode(in, req); h != nil {
		return h
	}
	payload := appendInfo(nil, "MIX service", serviceFeatures[:])
	return func(*channel) []outgoing { return answer(in, payload) }
}

// serviceItems answers disco#items to the service (§6.2): its channels but
// the ad hoc ones, which "will not be addressable or discoverable"
// (§7.3.3), sorted by name. Everyone may join every channel, so everyone
// sees them all.
func (s *Service) serviceItems(in *inbound, req request) handler {
	if h := noNode(in, req); h != nil {
		return h
	}
	return func(*channel) []outgoing {
		names := make([]string, 0, len(s.channels))
		for name, c := range s.channels {
			if !c.adHoc {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		b := appendOpen(nil, "query", nsDiscoItems)
		b = append(b, '>')
		for _, name := range names {
			b = append(b, "<item"...)
			b = appendAttr(b, "jid", s.channels[name].jid.String())
			b = append(b, "/>"...)
		}
		return answer(in, append(b, "</query>"...))
	}
}

// channelInfo answers disco#info to a channel (§6.3).
func (s *Service) channelInfo(in *inbound, req request) handler {
	if h := noNode(in, req); h != nil {
		return h
	}
	return onChannel(in, func(c *channel) []outgoing {
		return answer(in, appendInfo(nil, c.name, channelFeatures[:]))
	})
}

// channelItems answers disco#items to a channel with node='mix' (§6.4): its
// nodes. "Where a node only supports a MIX channel, the server MUST reject
// queries without a node='mix' attribute."
func (s *Service) channelItems(in *inbound, req request) handler {
	switch node, ok := attr(req.attr, "node"); {
	case !ok:
		return in.refuse(stanzaError(stanza.BadRequest, "a MIX channel lists its nodes for disco#items with node='mix' only (XEP-0369 §6.4)"))
	case node != mixNode:
		return in.refuse(stanzaError(stanza.ItemNotFound, "there is no node "+node+" here"))
	}
	return onChannel(in, func(c *channel) []outgoing {
		b := appendOpen(nil, "query", nsDiscoItems)
		b = appendAttr(b, "node", mixNode)
		b = append(b, '>')
		for _, name := range nodeNames {
			b = append(b, "<item"...)
			b = appendAttr(b, "jid", c.jid.String())
			b = appendAttr(b, "node", name)
			b = append(b, "/>"...)
		}
		return answer(in, append(b, "</query>"...))
	})
}
