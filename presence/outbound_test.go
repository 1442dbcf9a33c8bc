package presence

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/roster"
)

// sharedSetup joins coven (presence shared), brew (not shared) and adds an
// ordinary contact with subscription from.
func sharedSetup(t *testing.T, opts ...option) *harness {
	hs := newHarness(t, opts...)
	hs.join(coven, roster.From)
	hs.join(brew, roster.None)
	_, err := hs.rosters.Put(context.Background(), jid.MustParse(userBare), roster.Item{
		JID: jid.MustParse("romeo@montague.example"), Subscription: roster.From,
	})
	require.NoError(t, err)
	return hs
}

func TestOutboundGoesToSharedChannels(t *testing.T) {
	hs := sharedSetup(t)
	hs.online(mixClient, true)

	got := filter(hs.deliveries(), func(d delivered) bool { return d.From == mixClient })
	// Listing 13: from the client's full JID to the channel's bare JID, the
	// status kept; not to brew (subscription none), not to the contact.
	require.Equal(t, []delivered{{
		RoutedTo: coven, To: coven, From: mixClient, Show: "dnd", Status: "Making a Brew",
	}}, got)
}

func TestOutboundOnlyFromMIXCapableClients(t *testing.T) {
	hs := sharedSetup(t)
	hs.online(oldClient, false)
	hs.outbound(oldClient, `<presence><show>away</show></presence>`)
	hs.outbound(oldClient, `<presence type='unavailable'/>`)
	require.Empty(t, hs.deliveries(), "a client that is not MIX capable never reaches channels")

	hs.online(oldClient, false)
	hs.online(mixClient, true)
	hs.outbound(oldClient, `<presence><show>xa</show></presence>`)
	got := filter(hs.deliveries(), func(d delivered) bool { return d.To == coven && d.From != userBare })
	require.Len(t, got, 1)
	require.Equal(t, mixClient, got[0].From)
}

func TestOutboundUnavailable(t *testing.T) {
	hs := sharedSetup(t)
	hs.online(mixClient, true)
	hs.deliveries()

	// Listing 16, with a status the client gave.
	hs.outbound(mixClient, `<presence type='unavailable'><status>gone</status></presence>`)
	require.Equal(t, []delivered{{
		RoutedTo: coven, To: coven, From: mixClient, Type: "unavailable", Status: "gone",
	}}, hs.deliveries())

	hs.outbound(mixClient, `<presence type='unavailable'/>`)
	require.NoError(t, hs.h.Disconnected(context.Background(), jid.MustParse(mixClient)))
	require.Empty(t, hs.deliveries(), "unavailable goes once")
}

func TestDisconnectedWithoutUnavailable(t *testing.T) {
	hs := sharedSetup(t)
	hs.online(mixClient, true)
	hs.online(oldClient, false)
	hs.deliveries()

	ctx := context.Background()
	require.NoError(t, hs.h.Disconnected(ctx, jid.MustParse(oldClient)))
	require.Empty(t, hs.deliveries(), "a client that is not MIX capable leaves no trace in channels")

	require.NoError(t, hs.h.Disconnected(ctx, jid.MustParse(mixClient)))
	require.Equal(t, []delivered{{RoutedTo: coven, To: coven, From: mixClient, Type: "unavailable"}}, hs.deliveries())

	require.NoError(t, hs.h.Disconnected(ctx, jid.MustParse(mixClient)))
	require.Empty(t, hs.deliveries(), "a second disconnect sends nothing")

	// Channel presence no longer reaches the disconnected session.
	hs.inbound(channelPresence)
	require.Empty(t, hs.deliveries())
}

func TestOutboundIgnoresOtherPresence(t *testing.T) {
	hs := sharedSetup(t)
	hs.connect(mixClient, true)
	for _, raw := range []string{
		`<presence to='` + coven + `'><show>dnd</show></presence>`, // directed: relayed by the host
		`<presence type='probe'/>`,
		`<presence type='subscribe'/>`,
		`<presence type='error'/>`,
	} {
		hs.outbound(mixClient, raw)
	}
	require.Empty(t, hs.deliveries())

	p, payload := decode(t, clientPresence)
	p.From = jid.MustParse(userBare)
	require.ErrorIs(t, hs.h.Outbound(context.Background(), p, payload), errNotSession)
	require.ErrorIs(t, hs.h.Disconnected(context.Background(), jid.MustParse(userBare)), errNotSession)
}

func TestOutboundCapabilityLearnedLate(t *testing.T) {
	hs := sharedSetup(t)
	hs.online(mixClient, false) // caps not resolved yet
	require.Empty(t, hs.deliveries())

	ctx := context.Background()
	require.NoError(t, hs.sessions.SetMIXCapable(ctx, jid.MustParse(mixClient), true))
	hs.outbound(mixClient, clientPresence)
	got := hs.deliveries()
	require.Len(t, to(got, coven), 2, "presence and refresh")
	require.Len(t, refreshes(got), 2, "the session came online: both channels refreshed")

	// Capability withdrawn: the session leaves the channels.
	require.NoError(t, hs.sessions.SetMIXCapable(ctx, jid.MustParse(mixClient), false))
	hs.outbound(mixClient, clientPresence)
	require.Equal(t, []delivered{{RoutedTo: coven, To: coven, From: mixClient, Type: "unavailable"}}, hs.deliveries())
}

func TestOutboundSkipsBlockedChannels(t *testing.T) {
	hs := sharedSetup(t, withBlock(blockList{coven: true}))
	hs.join("open@mix.shakespeare.example", roster.From)
	hs.online(mixClient, true)
	got := hs.deliveries()
	require.Empty(t, to(got, coven), "nothing goes to a blocked channel")
	require.Len(t, filter(got, func(d delivered) bool { return d.From == mixClient }), 1)
}

func TestOutboundKeepsStanzaAttributes(t *testing.T) {
	hs := sharedSetup(t)
	hs.connect(mixClient, true)
	p, payload := decode(t, `<presence id='p1' xml:lang='en'><priority>5</priority><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v'/></presence>`)
	p.From = jid.MustParse(mixClient)
	require.NoError(t, hs.h.Outbound(context.Background(), p, payload))
	var raw string
	for _, d := range hs.router.To(jid.MustParse(coven)) {
		if got := parseDelivery(t, d); got.From == mixClient {
			raw = string(d.Stanza)
		}
	}
	require.Contains(t, raw, `id="p1"`)
	require.Contains(t, raw, `xml:lang="en"`)
	require.Contains(t, raw, `<priority>5</priority>`)
	require.Contains(t, raw, `<c xmlns="http://jabber.org/protocol/caps"`)
	require.Equal(t, stanza.AvailablePresence, p.Type)
}
