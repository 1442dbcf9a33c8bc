// Package mixjid parses the encoded JIDs by which MIX channels name their
// participants in presence and relayed stanzas (XEP-0403 §3.2 "Participant
// JID Addressing for Presence and IQ relay", XEP-0405 §2.12):
// participant-id#channel@service, optionally with a resource. The
// participant id is the Stable Participant ID, which contains no '#', '/'
// or '@' (XEP-0369 §4.6).
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
	// WithLocal keeps j's domainpart as it is: jid.New would normalise it
	// again, and mellium's Parse and New strip a trailing dot differently.
	channel, err := j.Bare().WithLocal(local[i+1:])
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
// channel's bare JID. It fails when the result is not a valid JID, the
// participant id is not acceptable to Split, or channel has no localpart.
func Encode(participant string, channel jid.JID) (jid.JID, error) {
	if participant == "" || strings.ContainsAny(participant, "#/@") {
		return jid.JID{}, errInvalidParticipant
	}
	if channel.Localpart() == "" {
		return jid.JID{}, errNoChannelName
	}
	encoded, err := channel.Bare().WithLocal(participant + "#" + channel.Localpart())
	if err != nil {
		return jid.JID{}, err
	}
	return encoded, nil
}

type constError string

func (e constError) Error() string { return string(e) }

const (
	errInvalidParticipant = constError("mixjid: participant id must be non-empty and contain no '#', '/' or '@'")
	errNoChannelName      = constError("mixjid: channel JID has no localpart")
)
