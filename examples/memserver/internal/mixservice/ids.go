package mixservice

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"mellium.im/xmpp/jid"
)

// participantIDBytes is the length of a Stable Participant ID in bytes of
// HMAC output (twice as many hex digits): 80 bits make a collision between
// two participants of a channel unlikely enough to be ignored, and the
// service checks anyway.
const participantIDBytes = 10

// participantID returns the Stable Participant ID of user in channel
// (XEP-0369 §4.6): the keyed HMAC-SHA-256 of both bare JIDs, in hex. It
// "never changes", is the same when the user joins again (which §4.6
// allows), cannot be computed without the secret (so it reveals nothing
// about the JID), differs between channels (so participants cannot be
// followed from one channel to another by their id), and contains none of
// '#', '/', '@'.
func participantID(secret []byte, channel, user jid.JID) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(channel.String()))
	mac.Write([]byte{0}) // a JID holds no NUL: the pair is unambiguous
	mac.Write([]byte(user.String()))
	return hex.EncodeToString(mac.Sum(nil)[:participantIDBytes])
}

// newStanzaID returns a random UUID (RFC 4122 version 4), as XEP-0359 §2
// recommends for stanza-ids, which "SHOULD be unpredictable" (§3).
func newStanzaID() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// newAdHocName returns a random channel name for an ad hoc channel
// (XEP-0369 §7.3.3): 80 random bits in lower-case base32, a valid
// localpart.
func newAdHocName() string {
	return strings.ToLower(rand.Text()[:16])
}
