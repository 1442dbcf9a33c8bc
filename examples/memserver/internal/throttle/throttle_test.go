package throttle_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/examples/memserver/internal/throttle"
)

// clock is a manual clock.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time          { return c.now }
func (c *clock) Advance(d time.Duration) { c.now = c.now.Add(d) }

func newGuard(c *clock, cfg throttle.Config) *throttle.Guard {
	cfg.Now = c.Now
	return throttle.New(cfg)
}

// TestAddressBanned: an address is refused after AddrFailures failures
// within Ban, for Ban, then may try again; other addresses are unaffected.
func TestAddressBanned(t *testing.T) {
	c := &clock{now: time.Unix(1e9, 0)}
	g := newGuard(c, throttle.Config{AddrFailures: 3, AccountFailures: 100, Ban: time.Minute})
	for i := range 2 {
		require.False(t, g.Fail("192.0.2.1", "alice"), "failure %d", i+1)
		require.True(t, g.Allowed("192.0.2.1", "alice"))
	}
	require.True(t, g.Fail("192.0.2.1", "alice"), "the third failure bans")
	banned, until := g.AddrBanned("192.0.2.1")
	require.True(t, banned)
	require.Equal(t, c.now.Add(time.Minute), until)
	require.False(t, g.Allowed("192.0.2.1", "bob"), "a banned address may try no account")
	require.True(t, g.Allowed("192.0.2.2", "alice"), "another address may")

	c.Advance(time.Minute - time.Second)
	banned, _ = g.AddrBanned("192.0.2.1")
	require.True(t, banned)
	c.Advance(time.Second)
	banned, _ = g.AddrBanned("192.0.2.1")
	require.False(t, banned, "the ban ends")
	require.False(t, g.Fail("192.0.2.1", "alice"), "counting starts again")
}

// TestFailuresOutsideThePeriod: failures spread wider than Ban never ban.
func TestFailuresOutsideThePeriod(t *testing.T) {
	c := &clock{now: time.Unix(1e9, 0)}
	g := newGuard(c, throttle.Config{AddrFailures: 3, Ban: time.Minute})
	for range 10 {
		require.False(t, g.Fail("192.0.2.1", ""))
		c.Advance(31 * time.Second)
	}
}

// TestAccountClosedToFailingAddresses: guessing one account from many
// addresses closes it to the addresses that failed, not to a clean one
// (the user's own).
func TestAccountClosedToFailingAddresses(t *testing.T) {
	c := &clock{now: time.Unix(1e9, 0)}
	g := newGuard(c, throttle.Config{AddrFailures: 100, AccountFailures: 5, Ban: time.Minute})
	for i := range 5 {
		g.Fail(fmt.Sprintf("198.51.100.%d", i), "alice")
	}
	for i := range 5 {
		addr := fmt.Sprintf("198.51.100.%d", i)
		require.False(t, g.Allowed(addr, "alice"), addr)
		require.True(t, g.Allowed(addr, "bob"), "other accounts stay open to %s", addr)
	}
	require.True(t, g.Allowed("203.0.113.9", "alice"), "a clean address may still log in")
	c.Advance(time.Minute)
	require.True(t, g.Allowed("198.51.100.0", "alice"), "the account reopens")
}

// TestMemoryBounded: failures from more addresses than MaxEntries keep at
// most MaxEntries records, dropping the oldest.
func TestMemoryBounded(t *testing.T) {
	c := &clock{now: time.Unix(1e9, 0)}
	g := newGuard(c, throttle.Config{AddrFailures: 2, Ban: time.Hour, MaxEntries: 10})
	require.False(t, g.Fail("10.0.0.0", ""))
	require.True(t, g.Fail("10.0.0.0", ""))
	for i := range 10 {
		c.Advance(time.Second)
		g.Fail(fmt.Sprintf("10.0.1.%d", i), "")
	}
	banned, _ := g.AddrBanned("10.0.0.0")
	require.False(t, banned, "the oldest record was dropped for a new one")
	require.Equal(t, 10, g.Len())
}

func TestAddrKey(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.2"), Port: 5222}, "127.0.0.2"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 5222}, "2001:db8::/64"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:0:0:ffff:1:2:3"), Port: 5222}, "2001:db8::/64"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:0:1::1"), Port: 5222}, "2001:db8:0:1::/64"},
		{&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 5222, Zone: "eth0"}, "fe80::/64"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7"), Port: 5222}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 5222}, "192.0.2.7"},
		{&net.UDPAddr{IP: net.ParseIP("2001:db8::9"), Port: 1}, "2001:db8::/64"},
		{&net.UnixAddr{Name: "/run/x.sock", Net: "unix"}, "/run/x.sock"},
	} {
		require.Equal(t, tc.want, throttle.AddrKey(tc.addr))
	}
}
