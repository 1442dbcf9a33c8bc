package blocking_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/blocklist"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/internal/mixjid"
)

// parseOrZero parses s, or returns the zero JID.
func parseOrZero(s string) jid.JID {
	j, err := jid.Parse(s)
	if err != nil {
		return jid.JID{}
	}
	return j
}

// matchAny is XEP-0191 §6 matching of j against items, by mellium's
// blocklist.Match.
func matchAny(j jid.JID, items []jid.JID) bool {
	for _, it := range items {
		if blocklist.Match(j, it) {
			return true
		}
	}
	return false
}

// canonical reports whether parsing j's string form gives j back. mellium's
// domain normalisation strips one trailing dot per pass, so a JID parsed
// from "c@mix.." (domain "mix.") is not canonical: its channel and its
// encoded JIDs, normalised again, land at "mix".
func canonical(j jid.JID) bool {
	again, err := jid.Parse(j.String())
	return err == nil && again.Equal(j)
}

// referenceBlocked restates the Filter's rules over a linear scan, deriving
// participant JIDs by parsing strings rather than through mixjid.Encode.
func referenceBlocked(user jid.JID, p blocking.Peer, items []jid.JID, matchReal bool) bool {
	if p.JID.Domainpart() == "" || p.JID.Bare().Equal(user.Bare()) {
		return false
	}
	if matchAny(p.JID, items) {
		return true
	}
	if _, channel, ok := mixjid.Split(p.JID); ok {
		if matchAny(channel, items) {
			return true
		}
	} else if pid := p.JID.Resourcepart(); p.Groupchat && p.JID.Localpart() != "" && pid != "" && !strings.ContainsAny(pid, "#/@") {
		if sender, err := jid.Parse(pid + "#" + p.JID.Bare().String()); err == nil && matchAny(sender, items) {
			return true
		}
	}
	return matchReal && p.RealJID.Domainpart() != "" && !p.RealJID.Bare().Equal(user.Bare()) && matchAny(p.RealJID, items)
}

// FuzzBlocked checks the decision over arbitrary JIDs and blocklists
// (items separated by newlines). Invariants: no panic, no error; the
// Filter over a Store agrees with the Filter over a host's linear check and
// with referenceBlocked; anything plain XEP-0191 blocks stays blocked; and
// once the peer's channel is blocked, every encoded JID of that channel is
// blocked, with any participant id and resource, as is its groupchat.
func FuzzBlocked(f *testing.F) {
	f.Fuzz(func(t *testing.T, userS, peerS, itemsS string, groupchat bool, realS string, matchReal bool, pid string) {
		user, err := jid.Parse(userS)
		if err != nil {
			return
		}
		ctx := context.Background()
		peer := blocking.Peer{JID: parseOrZero(peerS), Groupchat: groupchat, RealJID: parseOrZero(realS)}
		var items []jid.JID
		for _, s := range strings.Split(itemsS, "\n") {
			if j, err := jid.Parse(s); err == nil {
				items = append(items, j)
			}
		}
		store := blocking.NewMemStore()
		_, err = store.Block(ctx, user.Bare(), items...)
		require.NoError(t, err)
		filter := newFilter(t, blocking.FilterConfig{Checker: blocking.StoreChecker(store), MatchRealJID: matchReal})

		blocked, err := filter.Blocked(ctx, user, peer)
		require.NoError(t, err)
		decorated, err := newFilter(t, blocking.FilterConfig{Checker: linearChecker(items), MatchRealJID: matchReal}).Blocked(ctx, user, peer)
		require.NoError(t, err)
		require.Equal(t, decorated, blocked, "store and decorated host check agree")
		require.Equal(t, referenceBlocked(user, peer, items, matchReal), blocked, "reference")
		own := peer.JID.Bare().Equal(user.Bare())
		if !own && peer.JID.Domainpart() != "" && matchAny(peer.JID, items) {
			require.True(t, blocked, "plain XEP-0191 match")
		}

		// Block the peer's channel: all its participants are blocked.
		channel := mixjid.Channel(peer.JID)
		encoded, err := mixjid.Encode(pid, channel)
		if err != nil || channel.Localpart() == "" || encoded.Bare().Equal(user.Bare()) || !canonical(channel) {
			return
		}
		_, err = store.Block(ctx, user.Bare(), channel)
		require.NoError(t, err)
		for _, res := range []string{"", "res", pid} {
			participant := encoded
			if res != "" {
				if participant, err = encoded.WithResource(res); err != nil {
					continue
				}
			}
			blocked, err := filter.Blocked(ctx, user, blocking.Peer{JID: participant})
			require.NoError(t, err)
			require.True(t, blocked, "channel %s blocks %s", channel, participant)
		}
		if sender, err := channel.WithResource(pid); err == nil && !channel.Equal(user.Bare()) {
			blocked, err := filter.Blocked(ctx, user, blocking.Peer{JID: sender, Groupchat: true})
			require.NoError(t, err)
			require.True(t, blocked, "channel %s blocks its groupchat from %s", channel, sender)
		}
	})
}
