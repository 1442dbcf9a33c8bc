package mixservice

import (
	"strconv"
	"strings"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/ns"
)

// This file creates and destroys channels (XEP-0369 §7.3).

// adHocAttempts bounds the random names tried for an ad hoc channel; with
// 80-bit names the first one is all but certainly free.
const adHocAttempts = 4

// create answers <create channel='name'/> (§7.3.2) and <create/> (§7.3.3,
// ad hoc). Anyone may create channels (the service advertises
// #create-channel to everyone); the creator's bare JID owns the channel.
// The result names the channel, as the request did.
func (s *Service) create(in *inbound, req request) handler {
	name, named := attr(req.attr, "channel")
	return func(*channel) []outgoing {
		owner := in.from.Bare()
		if !named {
			name = s.freeAdHocName()
		}
		j, problem := s.checkName(name)
		switch {
		case problem != "":
			return fail(in, stanza.NotAcceptable, problem)
		case s.channels[name] != nil && named:
			return fail(in, stanza.Conflict, "the channel "+name+" exists already")
		case s.channels[name] != nil:
			return fail(in, stanza.InternalServerError, "no free name found for an ad hoc channel; try again")
		case len(s.channels) >= s.limits.Channels:
			return fail(in, stanza.ResourceConstraint, "the service has as many channels as it can hold ("+strconv.Itoa(s.limits.Channels)+")")
		case s.owned[owner.String()] >= s.limits.ChannelsPerOwner:
			return fail(in, stanza.PolicyViolation, "you own as many channels as one may ("+strconv.Itoa(s.limits.ChannelsPerOwner)+"); destroy one first")
		}
		s.channels[name] = newChannel(name, j, owner, !named)
		s.owned[owner.String()]++
		s.log.Debug("mixservice: channel created", "channel", j, "owner", owner)
		b := appendOpen(nil, "create", ns.MIXCore)
		b = appendAttr(b, "channel", name)
		return answer(in, append(b, "/>"...))
	}
}

// checkName returns the JID of the channel called name, or why there
// cannot be one.
func (s *Service) checkName(name string) (jid.JID, string) {
	j, err := s.domain.WithLocal(name)
	switch {
	case name == "":
		return j, "the channel name is empty (leave the channel attribute out to create an ad hoc channel)"
	case len(name) > s.limits.NameBytes:
		return j, "channel names are at most " + strconv.Itoa(s.limits.NameBytes) + " bytes long"
	case strings.ContainsRune(name, '#'):
		return j, "channel names may not contain '#', which separates the participant id in encoded participant JIDs"
	case err != nil:
		return j, "the channel name is not a valid JID localpart"
	case j.Localpart() != name:
		return j, "the channel name is not in canonical form; ask for " + j.Localpart()
	}
	return j, ""
}

// freeAdHocName returns a random channel name, unused unless the few
// attempts all failed.
func (s *Service) freeAdHocName() string {
	name := newAdHocName()
	for i := 1; i < adHocAttempts && s.channels[name] != nil; i++ {
		name = newAdHocName()
	}
	return name
}

// destroy answers <destroy channel='name'/> (§7.3.4): only the channel's
// owner may destroy it. Participants get no notification: XEP-0369 defines
// none, and their servers' leave requests still succeed (see leave).
func (s *Service) destroy(in *inbound, req request) handler {
	name, ok := attr(req.attr, "channel")
	if !ok {
		return in.refuse(stanzaError(stanza.BadRequest, "<destroy/> needs a channel attribute"))
	}
	if j, err := s.domain.WithLocal(name); err == nil {
		name = j.Localpart()
	}
	return func(*channel) []outgoing {
		c := s.channels[name]
		switch {
		case c == nil:
			return fail(in, stanza.ItemNotFound, "there is no channel "+name)
		case !c.owner.Equal(in.from.Bare()):
			return fail(in, stanza.Forbidden, "only the channel's owner may destroy it")
		}
		delete(s.channels, name)
		if s.owned[c.owner.String()]--; s.owned[c.owner.String()] <= 0 {
			delete(s.owned, c.owner.String())
		}
		s.log.Debug("mixservice: channel destroyed", "channel", c.jid, "by", in.from)
		return answer(in, nil)
	}
}
