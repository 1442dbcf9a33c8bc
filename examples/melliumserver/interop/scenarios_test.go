//go:build interop

package interop

import (
	"testing"

	"github.com/mixpam/mixpam/examples/internal/slixcheck"
	"github.com/stretchr/testify/require"
)

const room = "coven@" + mixDomain

// TestMIX runs slix/mix.py: channel creation on the component, join
// through the server with roster pushes and the annotated roster
// (XEP-0405 §2.7, §2.9, §2.10), groupchat fan-out (§2.2), the archive with
// MAM, paged and extended, for a message received offline too (§2.11,
// XEP-0313, XEP-0059), the account's features (§2.4) and leave (§2.8).
func TestMIX(t *testing.T) {
	t.Parallel()
	type copyOf struct {
		From, To, Bound, Body string
		StanzaIDs             map[string]string `json:"stanza_ids"`
	}
	res := run[struct {
		Join map[string]struct {
			FailedNodes      []string `json:"failed_nodes"`
			PushSubscription string   `json:"push_subscription"`
			ParticipantID    string   `json:"participant_id"`
		}
		Live map[string]copyOf
		MAM  []struct {
			Body      string
			ResultID  string            `json:"result_id"`
			StanzaIDs map[string]string `json:"stanza_ids"`
		}
		MAMComplete     bool     `json:"mam_complete"`
		MAMPaged        []string `json:"mam_paged"`
		MAMByIDs        []string `json:"mam_by_ids"`
		MAMAfterID      []string `json:"mam_after_id"`
		AccountFeatures []string `json:"account_features"`
		LeaveSub        string   `json:"leave_push_subscription"`
		RosterAfter     []string `json:"roster_after_leave"`
	}](t, startServer(t), "mix.py")

	for _, nick := range []string{"alice", "bob"} {
		j := res.Join[nick]
		require.Empty(t, j.FailedNodes, nick)
		require.Equal(t, "from", j.PushSubscription, "%s: one-way presence to the channel (XEP-0405 §2.9)", nick)
		require.NotEmpty(t, j.ParticipantID, "%s: participant id in the annotated roster (§2.10)", nick)
		live := res.Live[nick]
		require.Equal(t, "When shall we three meet again?", live.Body, nick)
		require.Equal(t, live.Bound, live.To, "%s: to rewritten to the client's full JID (§2.2)", nick)
		require.Equal(t, room+"/"+res.Join["alice"].ParticipantID, live.From)
		require.NotEmpty(t, live.StanzaIDs[nick+"@"+domain], "%s: the user's XEP-0359 stanza-id", nick)
	}
	require.Len(t, res.MAM, 3, "bob's archive holds the messages sent while he was offline too")
	require.Equal(t, []string{"When shall we three meet again?", "In thunder, lightning, or in rain?", "When the hurlyburly's done."},
		[]string{res.MAM[0].Body, res.MAM[1].Body, res.MAM[2].Body})
	ids := []string{res.MAM[0].ResultID, res.MAM[1].ResultID, res.MAM[2].ResultID}
	require.Equal(t, res.Live["bob"].StanzaIDs["bob@"+domain], ids[0], "the archive id is the live copy's stanza-id")
	require.True(t, res.MAMComplete)
	require.Equal(t, ids, res.MAMPaged, "RSM paging one by one")
	require.Equal(t, ids[1:2], res.MAMByIDs)
	require.Equal(t, ids[1:], res.MAMAfterID)
	require.Subset(t, res.AccountFeatures, []string{"urn:xmpp:mix:pam:2", "urn:xmpp:mix:pam:2#archive", "urn:xmpp:mam:2", "urn:xmpp:blocking", "urn:xmpp:sid:0"})
	require.Equal(t, "remove", res.LeaveSub)
	require.Empty(t, res.RosterAfter)
}

// TestPresence runs slix/presence.py: channel presence both ways through
// the server (XEP-0405 §2.9, XEP-0403), including bob's presence sent to
// the channel right after his join and his unavailable presence when his
// stream ends without it.
func TestPresence(t *testing.T) {
	t.Parallel()
	type seen struct {
		From, Status, Type, Error string
		MIXJID                    string `json:"mix_jid"`
	}
	res := run[struct {
		IDs               map[string]string `json:"participant_ids"`
		BobGotAlice       seen              `json:"bob_got_alice"`
		AliceGotBobOnJoin seen              `json:"alice_got_bob_on_join"`
		AliceGotBobStatus seen              `json:"alice_got_bob_status"`
		AliceGotBobOff    seen              `json:"alice_got_bob_offline"`
	}](t, startServer(t), "presence.py")
	for _, tc := range []struct {
		name           string
		seen           seen
		sender, status string
	}{
		{"bob gets alice's presence on joining", res.BobGotAlice, "alice", "brewing"},
		{"alice gets bob's current presence when he joins", res.AliceGotBobOnJoin, "bob", "warming up"},
		{"alice gets bob's status change", res.AliceGotBobStatus, "bob", "stirring"},
		{"alice gets bob's unavailable presence when his stream ends", res.AliceGotBobOff, "bob", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Empty(t, tc.seen.Error)
			require.Equal(t, res.IDs[tc.sender]+"#"+room+"/mix", tc.seen.From)
			require.Equal(t, tc.sender+"@"+domain+"/mix", tc.seen.MIXJID)
			require.Equal(t, tc.status, tc.seen.Status)
		})
	}
	require.Equal(t, "unavailable", res.AliceGotBobOff.Type)
}

// TestBlocking runs slix/block.py: bob blocks alice's encoded participant
// JID (XEP-0405 §2.12, XEP-0191) and gets neither her groupchat nor her
// presence until he unblocks her; bob's client has no caps, so the server
// learns its MIX capability from its disco#info (XEP-0405 §2.1).
func TestBlocking(t *testing.T) {
	t.Parallel()
	res := run[struct {
		BlockedJID            string   `json:"blocked_jid"`
		Blocklist             []string `json:"blocklist"`
		UnavailableOnBlock    bool     `json:"unavailable_on_block"`
		DeliveredWhileBlocked int      `json:"delivered_while_blocked"`
		PresenceWhileBlocked  int      `json:"presence_while_blocked"`
		BlocklistAfterUnblock []string `json:"blocklist_after_unblock"`
		PresenceAfterUnblock  bool     `json:"presence_after_unblock"`
		DeliveredAfterUnblock bool     `json:"delivered_after_unblock"`
	}](t, startServer(t), "block.py")
	require.Regexp(t, `^[^#@/]+#`+room+`$`, res.BlockedJID)
	require.Equal(t, []string{res.BlockedJID}, res.Blocklist)
	require.True(t, res.UnavailableOnBlock)
	require.Zero(t, res.DeliveredWhileBlocked)
	require.Zero(t, res.PresenceWhileBlocked)
	require.Empty(t, res.BlocklistAfterUnblock)
	require.True(t, res.PresenceAfterUnblock)
	require.True(t, res.DeliveredAfterUnblock)
}

// TestClientOrders runs slix/clients.py: a client that joins before sending
// presence, one that never sends presence nor gets the roster, one at a
// negative priority, a join sent to another user's account, and a client
// that comes and goes while channel traffic flows (XEP-0405 §2.2,
// §2.7–2.9; RFC 6121 §2.1.6, §8.5.2.1.1).
func TestClientOrders(t *testing.T) {
	t.Parallel()
	run[slixcheck.Clients](t, startServer(t), "clients.py").Check(t)
}
