// Package mixjid parses the encoded JIDs by which MIX channels name their
// participants (XEP-0369 §7.2 "Participant JIDs", XEP-0405 §2.12):
// participant-id#channel@service, optionally with a resource.
//
// This is the one place mixpam splits such JIDs; presence and blocking share it.
package mixjid

import (
	"strings"

	"mellium.im/xmpp/jid"
)

// Split reports whether j is an encoded participant JID and, if so, returns
// the participant id and the channel's bare JID.
//
// The localpart is split at its first '#'. The participant id must be
// non-empty and contain none of '#', '/', '@'; the channel's localpart must be
// non-empty. Anything else is not an encoded JID.
func Split(j jid.JID) (participant string, channel jid.JID, ok bool) {
	local := j.Localpart()
	i := strings.IndexByte(local, '#')
	if i <= 0 || i == len(local)-1 {
		return "", jid.JID{}, false
	}
	participant = local[:i]
	if strings.ContainsAny(participant, "#/@") {
		return "", jid.JID{}, false
	}
	channel, err := jid.New(local[i+1:], j.Domainpart(), "")
	if err != nil {
		return "", jid.JID{}, false
	}
	return participant, channel, true
}

// Channel returns the channel a sender belongs to: the channel of an encoded
// participant JID (pid#channel@service/res → channel@service), otherwise the
// sender's bare JID (channel@service/pid → channel@service).
func Channel(sender jid.JID) jid.JID {
	if _, ch, ok := Split(sender); ok {
		return ch
	}
	return sender.Bare()
}

// Encode returns the encoded participant JID participant#channel@service for a
// channel's bare JID. It fails when the result is not a valid JID or the
// participant id is not acceptable to Split.
func Encode(participant string, channel jid.JID) (jid.JID, error) {
	if participant == "" || strings.ContainsAny(participant, "#/@") {
		return jid.JID{}, errInvalidParticipant
	}
	return jid.New(participant+"#"+channel.Localpart(), channel.Domainpart(), "")
}

type constError string

func (e constError) Error() string { return string(e) }

const errInvalidParticipant = constError("mixjid: participant id must be non-empty and contain no '#', '/' or '@'")
