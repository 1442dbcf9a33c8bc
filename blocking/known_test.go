package blocking_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/roster"
)

func TestKnown(t *testing.T) {
	ctx := context.Background()
	rs := roster.NewMemStore()
	_, err := rs.Put(ctx, juliet, roster.Item{JID: jid.MustParse("coven@mix.example"), Subscription: roster.From, Channel: true, ParticipantID: "789"})
	require.NoError(t, err)
	_, err = rs.Put(ctx, juliet, roster.Item{JID: jid.MustParse("romeo@montague.net"), Subscription: roster.Both})
	require.NoError(t, err)

	cases := []struct {
		peer  string
		known bool
	}{
		{peer: "123#coven@mix.example/res", known: true},
		{peer: "123#coven@mix.example", known: true},
		{peer: "123#COVEN@mix.example", known: true},
		{peer: "coven@mix.example/123", known: true},
		{peer: "coven@mix.example", known: true},
		{peer: "123#other@mix.example/res"},
		{peer: "other@mix.example/123"},
		{peer: "123#coven@mix.other"},
		{peer: "#coven@mix.example/res"},     // not an encoded JID
		{peer: "romeo@montague.net/orchard"}, // a contact, not a channel
		{peer: "123#romeo@montague.net/res"}, // a contact is no channel
		{peer: "mix.example"},                // the service itself
		{peer: "juliet@capulet.lit/balcony"}, // the user
		{peer: "nurse@capulet.lit/kitchen"},  // a stranger
	}
	for _, c := range cases {
		t.Run(c.peer, func(t *testing.T) {
			known, err := blocking.Known(ctx, rs, jid.MustParse("juliet@capulet.lit/balcony"), jid.MustParse(c.peer))
			require.NoError(t, err)
			require.Equal(t, c.known, known)
		})
	}
}

type failingRoster struct{ err error }

func (f failingRoster) Item(context.Context, jid.JID, jid.JID) (roster.Item, error) {
	return roster.Item{}, f.err
}

func TestKnownError(t *testing.T) {
	errDown := errors.New("roster down")
	known, err := blocking.Known(context.Background(), failingRoster{errDown}, juliet, jid.MustParse("123#coven@mix.example"))
	require.ErrorIs(t, err, errDown)
	require.False(t, known)
}
