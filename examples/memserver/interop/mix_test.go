//go:build interop

package interop

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	// room is the channel the scenarios create on the built-in service.
	room = "coven@" + mixDomain
	// bodies of the groupchat messages of slix/mix.py.
	body1 = "When shall we three meet again?"
	body2 = "In thunder, lightning, or in rain?"
	body3 = "When the hurlyburly's done."
)

// mixResult is what slix/mix.py observed.
type mixResult struct {
	CanCreate       bool                `json:"can_create"`
	Created         string              `json:"created"`
	Listed          []string            `json:"listed"`
	Join            map[string]joined   `json:"join"`
	Participants    [][2]string         `json:"participants"`
	AliceSawBobJoin bool                `json:"alice_saw_bob_join"`
	Live            map[string]liveCopy `json:"live"`
	MAM             []archived          `json:"mam"`
	MAMComplete     bool                `json:"mam_complete"`
	MAMCount        string              `json:"mam_count"`
	MAMPaged        []string            `json:"mam_paged"`
	AccountFeatures []string            `json:"account_features"`
	MAMMetadata     map[string]string   `json:"mam_metadata"`
	MAMByIDs        []string            `json:"mam_by_ids"`
	MAMAfterID      []string            `json:"mam_after_id"`
	MAMBetweenIDs   []string            `json:"mam_between_ids"`
	LeaveSub        string              `json:"leave_push_subscription"`
	RosterAfter     []string            `json:"roster_after_leave"`
}

// joined is one user's join through xep_0405.
type joined struct {
	FailedNodes      []string `json:"failed_nodes"`
	PushSubscription string   `json:"push_subscription"`
	ParticipantID    string   `json:"participant_id"`
}

// liveCopy is a groupchat message as a MIX client received it.
type liveCopy struct {
	From      string            `json:"from"`
	To        string            `json:"to"`
	Bound     string            `json:"bound"`
	Body      string            `json:"body"`
	Nick      string            `json:"nick"`
	MIXJID    string            `json:"mix_jid"`
	StanzaIDs map[string]string `json:"stanza_ids"`
}

// archived is a MAM result.
type archived struct {
	ResultID   string            `json:"result_id"`
	From       string            `json:"from"`
	Body       string            `json:"body"`
	Type       string            `json:"type"`
	Nick       string            `json:"nick"`
	Stamp      string            `json:"stamp"`
	StampError string            `json:"stamp_error"`
	StanzaIDs  map[string]string `json:"stanza_ids"`
}

// TestMIX runs slix/mix.py: channel creation, join through the participant
// server, the annotated roster, groupchat delivery, MAM for messages
// received online and offline, and leave (XEP-0405 §2.2, §2.7–2.11).
func TestMIX(t *testing.T) {
	t.Parallel()
	srv := startServer(t, true)
	res := runOK[mixResult](t, srv, "mix.py", srv.users("alice", "bob"))

	// Creation and discovery (XEP-0369 §6.1, §6.2, §7.3.2).
	require.True(t, res.CanCreate, "the service advertises urn:xmpp:mix:core:1#create-channel")
	require.Equal(t, "coven", res.Created)
	require.Contains(t, res.Listed, room)

	// Join: all nodes subscribed, the channel pushed with one-way presence
	// toward it (XEP-0405 §2.9), the participant id annotated (§2.10).
	alice, bob := res.Join["alice"], res.Join["bob"]
	for name, j := range res.Join {
		require.Empty(t, j.FailedNodes, "%s: nodes not subscribed", name)
		require.Equal(t, "from", j.PushSubscription, "%s: roster push subscription", name)
		require.NotEmpty(t, j.ParticipantID, "%s: participant-id in the annotated roster", name)
	}
	require.Len(t, res.Join, 2)
	require.NotEqual(t, alice.ParticipantID, bob.ParticipantID)
	require.ElementsMatch(t, [][2]string{{alice.ParticipantID, "alice"}, {bob.ParticipantID, "bob"}}, res.Participants,
		"the participants node lists the ids of the annotated rosters")
	require.True(t, res.AliceSawBobJoin)

	// Live delivery to each MIX client, to rewritten to its full JID, with
	// the channel's id and the user's archive id (XEP-0405 §2.2, §2.11).
	sender := room + "/" + alice.ParticipantID
	for _, name := range []string{"alice", "bob"} {
		m := res.Live[name]
		require.Equal(t, sender, m.From, "%s: from channel/participant-id", name)
		require.Equal(t, m.Bound, m.To, "%s: to the client's full JID", name)
		require.Equal(t, body1, m.Body)
		require.Equal(t, "alice", m.Nick, "%s: <mix><nick/>", name)
		require.Equal(t, "alice@"+domain, m.MIXJID, "%s: <mix><jid/> (JID-visible channel)", name)
		require.NotEmpty(t, m.StanzaIDs[room], "%s: stanza-id by the channel", name)
		require.NotEmpty(t, m.StanzaIDs[name+"@"+domain], "%s: stanza-id by the user's archive", name)
	}
	require.Equal(t, res.Live["alice"].StanzaIDs[room], res.Live["bob"].StanzaIDs[room], "one message, one channel id")

	// bob's archive holds the three messages, the second sent while he
	// was offline, the third his own, the first under the id his live copy
	// carried (XEP-0405 §2.11, XEP-0313 §4.2, XEP-0359).
	want := []struct{ body, sender, nick string }{
		{body1, alice.ParticipantID, "alice"},
		{body2, alice.ParticipantID, "alice"},
		{body3, bob.ParticipantID, "bob"},
	}
	require.Len(t, res.MAM, len(want), "bob's archive with the channel")
	var ids []string
	for i, w := range want {
		a := res.MAM[i]
		require.Equal(t, w.body, a.Body)
		require.Equal(t, room+"/"+w.sender, a.From)
		require.Equal(t, "groupchat", a.Type)
		require.Equal(t, w.nick, a.Nick)
		require.NotEmpty(t, a.StanzaIDs[room], "stanza-id by the channel")
		require.Equal(t, a.ResultID, a.StanzaIDs["bob@"+domain], "result id = stanza-id by the archive")
		require.Empty(t, a.StampError, "slixmpp (xep_0082) cannot parse the <delay/> stamp")
		require.NotEmpty(t, a.Stamp)
		ids = append(ids, a.ResultID)
	}
	require.Equal(t, res.Live["bob"].StanzaIDs["bob@"+domain], res.MAM[0].ResultID, "live and archived copies share the archive id")
	require.Equal(t, res.Live["bob"].StanzaIDs[room], res.MAM[0].StanzaIDs[room])
	require.True(t, res.MAMComplete, "<fin complete='true'/>")
	require.Equal(t, strconv.Itoa(len(want)), res.MAMCount)
	require.Equal(t, ids, res.MAMPaged, "paging one by one with RSM")

	// urn:xmpp:mam:2#extended as slixmpp uses it (XEP-0313 §4.1.3, §6, §7).
	for _, f := range []string{"urn:xmpp:mam:2", "urn:xmpp:mam:2#extended", "urn:xmpp:mam:2#groupchat-field", "urn:xmpp:mam:2#groupchat-available"} {
		require.Contains(t, res.AccountFeatures, f)
	}
	require.Equal(t, ids[0], res.MAMMetadata["start"], "the archive's first message")
	require.Equal(t, ids[2], res.MAMMetadata["end"], "the archive's last message")
	require.NotEqual(t, "None", res.MAMMetadata["start_stamp"], "slixmpp parses the timestamp")
	require.NotEqual(t, "None", res.MAMMetadata["end_stamp"])
	require.Equal(t, ids[1:2], res.MAMByIDs, "single-item retrieval")
	require.Equal(t, ids[1:], res.MAMAfterID)
	require.Equal(t, ids[1:2], res.MAMBetweenIDs)

	// Leave removes the channel from the roster (XEP-0405 §2.8, §2.9).
	require.Equal(t, "remove", res.LeaveSub)
	require.Empty(t, res.RosterAfter)
}

// presenceSeen is one channel presence a client received, or why not.
type presenceSeen struct {
	Error  string `json:"error"`
	From   string `json:"from"`
	Status string `json:"status"`
	Type   string `json:"type"`
	MIXJID string `json:"mix_jid"`
}

// presenceResult is what slix/presence.py observed.
type presenceResult struct {
	ParticipantIDs     map[string]string `json:"participant_ids"`
	BobGotAlice        presenceSeen      `json:"bob_got_alice"`
	AliceGotBobOnJoin  presenceSeen      `json:"alice_got_bob_on_join"`
	AliceGotBobStatus  presenceSeen      `json:"alice_got_bob_status"`
	AliceGotBobOffline presenceSeen      `json:"alice_got_bob_offline"`
}

// TestChannelPresence runs slix/presence.py: channel presence through the
// participant server both ways (XEP-0405 §2.9.1–2.9.4, XEP-0403 §4).
func TestChannelPresence(t *testing.T) {
	t.Parallel()
	srv := startServer(t, true)
	res := runOK[presenceResult](t, srv, "presence.py", srv.users("alice", "bob"))
	for _, tc := range []struct {
		name   string
		seen   presenceSeen
		sender string // whose presence
		status string
		typ    string
	}{
		{"bob gets alice's presence on joining (XEP-0405 §2.9.3)", res.BobGotAlice, "alice", "brewing", ""},
		{"alice gets bob's current presence when he joins (XEP-0405 §2.9)", res.AliceGotBobOnJoin, "bob", "warming up", ""},
		{"alice gets bob's status change (XEP-0405 §2.9.1)", res.AliceGotBobStatus, "bob", "stirring", ""},
		{"alice gets bob's unavailable presence when his stream ends (XEP-0405 §2.9.4)", res.AliceGotBobOffline, "bob", "", "unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Empty(t, tc.seen.Error)
			pid := res.ParticipantIDs[tc.sender]
			require.NotEmpty(t, pid)
			require.Equal(t, pid+"#"+room+"/mix", tc.seen.From, "from the encoded JID, with the client's resource")
			require.Equal(t, tc.sender+"@"+domain+"/mix", tc.seen.MIXJID, "<mix xmlns='urn:xmpp:mix:presence:0'><jid/>")
			require.Equal(t, tc.status, tc.seen.Status)
			if tc.typ != "" {
				require.Equal(t, tc.typ, tc.seen.Type)
			}
		})
	}
}

// blockResult is what slix/block.py observed.
type blockResult struct {
	BlockedJID            string   `json:"blocked_jid"`
	Blocklist             []string `json:"blocklist"`
	UnavailableOnBlock    bool     `json:"unavailable_on_block"`
	DeliveredWhileBlocked int      `json:"delivered_while_blocked"`
	PresenceWhileBlocked  int      `json:"presence_while_blocked"`
	BlocklistAfterUnblock []string `json:"blocklist_after_unblock"`
	PresenceAfterUnblock  bool     `json:"presence_after_unblock"`
	DeliveredAfterUnblock bool     `json:"delivered_after_unblock"`
}

// TestBlockParticipant runs slix/block.py: bob blocks alice's encoded
// participant JID with xep_0191 and stops receiving her groupchat messages
// until he unblocks her (XEP-0405 §2.12, XEP-0191 §3).
func TestBlockParticipant(t *testing.T) {
	t.Parallel()
	srv := startServer(t, true)
	res := runOK[blockResult](t, srv, "block.py", srv.users("alice", "bob"))
	require.Regexp(t, `^[^#@/]+#`+room+`$`, res.BlockedJID)
	require.Equal(t, []string{res.BlockedJID}, res.Blocklist)
	require.True(t, res.UnavailableOnBlock, "XEP-0191 §3.3: the blocked participant shown offline")
	require.Zero(t, res.DeliveredWhileBlocked, "groupchat from a blocked participant reached the client")
	require.Zero(t, res.PresenceWhileBlocked, "presence from a blocked participant reached the client")
	require.Empty(t, res.BlocklistAfterUnblock)
	require.True(t, res.PresenceAfterUnblock, "XEP-0191 §3.4: the unblocked participant's current presence")
	require.True(t, res.DeliveredAfterUnblock)
}
