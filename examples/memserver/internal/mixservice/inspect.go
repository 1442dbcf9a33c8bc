package mixservice

import (
	"slices"
	"strings"

	"mellium.im/xmpp/jid"
)

// This file lets tests and tools look at the service's state.

// ChannelInfo describes a channel.
type ChannelInfo struct {
	// JID is the channel's bare JID.
	JID jid.JID
	// Owner is the bare JID that created the channel.
	Owner jid.JID
	// AdHoc reports a channel created without a name (XEP-0369 §7.3.3).
	AdHoc bool
	// Participants are the channel's participants, in the order they
	// joined.
	Participants []ParticipantInfo
}

// ParticipantInfo describes a participant of a channel.
type ParticipantInfo struct {
	// ID is the Stable Participant ID.
	ID string
	// JID is the user's bare JID.
	JID jid.JID
	// Nick is the participant's nick.
	Nick string
	// Nodes are the nodes the participant is subscribed to.
	Nodes []string
	// Clients are the full JIDs of the participant's clients whose
	// presence the channel keeps, in the order they became available.
	Clients []jid.JID
}

// Channels returns every channel, sorted by JID.
func (s *Service) Channels() []ChannelInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ChannelInfo, 0, len(s.channels))
	for _, c := range s.channels {
		out = append(out, c.info())
	}
	slices.SortFunc(out, func(a, b ChannelInfo) int { return strings.Compare(a.JID.String(), b.JID.String()) })
	return out
}

// Channel returns the channel whose bare JID is j, and whether there is one.
func (s *Service) Channel(j jid.JID) (ChannelInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[j.Localpart()]
	if c == nil || !c.jid.Equal(j) {
		return ChannelInfo{}, false
	}
	return c.info(), true
}

// info describes c. The caller holds Service.mu.
func (c *channel) info() ChannelInfo {
	ci := ChannelInfo{JID: c.jid, Owner: c.owner, AdHoc: c.adHoc}
	for _, p := range c.members {
		pi := ParticipantInfo{ID: p.id, JID: p.jid, Nick: p.nick}
		for n := range nodeCount {
			if p.nodes.has(n) {
				pi.Nodes = append(pi.Nodes, nodeNames[n])
			}
		}
		for _, cl := range p.clients {
			pi.Clients = append(pi.Clients, cl.jid)
		}
		ci.Participants = append(ci.Participants, pi)
	}
	return ci
}
