package host_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host"
)

// The host.Sessions and host.FlagSetter contract is tested by
// hosttest.RunSessions (host/hosttest); these tests cover what MemSessions
// adds.

func TestMemSessionsAddReplaces(t *testing.T) {
	m := host.NewMemSessions()
	m.Add(host.Resource{JID: hag66Laptop, MIXCapable: true, Annotate: true})
	m.Add(host.Resource{JID: jid.MustParse("hag66@shakespeare.example/phone")})
	m.Add(host.Resource{JID: hag66Laptop, Priority: 5})
	rs, err := m.Resources(t.Context(), hag66)
	require.NoError(t, err)
	require.Len(t, rs, 2, "Add of an online session replaces it")
	require.Equal(t, host.Resource{JID: hag66Laptop, Priority: 5}, rs[0], "replaced in place, keeping binding order")
}

func TestMemSessionsResource(t *testing.T) {
	m := host.NewMemSessions()
	_, ok := m.Resource(hag66Laptop)
	require.False(t, ok)
	m.Add(host.Resource{JID: hag66Laptop})
	require.NoError(t, m.SetMIXCapable(t.Context(), hag66Laptop, true))
	r, ok := m.Resource(hag66Laptop)
	require.True(t, ok)
	require.True(t, r.MIXCapable)
	_, ok = m.Resource(hag66)
	require.False(t, ok, "the bare JID is not a session")
}

func TestMemSessionsRemove(t *testing.T) {
	m := host.NewMemSessions()
	require.False(t, m.Remove(hag66Laptop), "Remove of a session never online")
	m.Add(host.Resource{JID: hag66Laptop})
	require.True(t, m.Remove(hag66Laptop))
	require.False(t, m.Remove(hag66Laptop), "Remove of a session already removed")
	rs, err := m.Resources(t.Context(), hag66)
	require.NoError(t, err)
	require.Empty(t, rs)
}

func TestMemSessionsSetPresence(t *testing.T) {
	m := host.NewMemSessions()
	require.ErrorIs(t, m.SetPresence(hag66Laptop, true, 1), host.ErrNoSession)
	m.Add(host.Resource{JID: hag66Laptop, MIXCapable: true})
	require.NoError(t, m.SetPresence(hag66Laptop, true, -1))
	r, _ := m.Resource(hag66Laptop)
	require.Equal(t, host.Resource{JID: hag66Laptop, MIXCapable: true, Available: true, Priority: -1}, r)
	require.NoError(t, m.SetPresence(hag66Laptop, false, 0))
	r, _ = m.Resource(hag66Laptop)
	require.Equal(t, host.Resource{JID: hag66Laptop, MIXCapable: true}, r)
}
