package loadtest

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/examples/memserver/internal/mixservice"
	"github.com/mixpam/mixpam/examples/memserver/internal/testclient"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/roster"
)

// The scale figures of docs/performance.md. Each benchmark holds b.N
// items (sessions, memberships, archived messages) at once and reports the
// heap they take per item, next to a baseline of the same run: run them
// with a fixed count, e.g. -benchtime 2000x.

// heapInUse returns the live heap plus goroutine stacks after two
// collections.
func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse
}

func reportPerItem(b *testing.B, before uint64, unit string) {
	b.Helper()
	after := heapInUse()
	b.ReportMetric(float64(int64(after)-int64(before))/float64(b.N), unit)
}

// BenchmarkScaleSessions: memory per bound client session of the example
// server (authenticated with PLAIN over plain TCP, resource bound, no
// presence), against a baseline of the same number of bare TCP
// connections held by a listener that does nothing. Both include the
// client ends of the connections, which live in the same process.
func BenchmarkScaleSessions(b *testing.B) {
	b.Run("memserver", func(b *testing.B) {
		users := make([]string, b.N)
		for i := range users {
			users[i] = fmt.Sprintf("u%d", i)
		}
		srv := testclient.Start(b, testclient.Options{Users: users})
		conns := make([]net.Conn, 0, b.N)
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		before := heapInUse()
		b.ResetTimer()
		for i := range b.N {
			conns = append(conns, rawLogin(b, srv.Addr, users[i], srv.Passwords[users[i]]))
		}
		b.StopTimer()
		reportPerItem(b, before, "B/session")
	})
	b.Run("baseline-tcp-pair", func(b *testing.B) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(b, err)
		defer l.Close()
		accepted := make(chan net.Conn, b.N)
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				accepted <- c
			}
		}()
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		before := heapInUse()
		b.ResetTimer()
		for range b.N {
			c, err := net.Dial("tcp", l.Addr().String())
			require.NoError(b, err)
			conns = append(conns, c, <-accepted)
		}
		b.StopTimer()
		reportPerItem(b, before, "B/session")
	})
}

// rawLogin logs name in with PLAIN over plain TCP and binds a resource,
// pipelining the stream, and returns once the bind result is read.
func rawLogin(b *testing.B, addr, name, password string) net.Conn {
	b.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(b, err)
	require.NoError(b, c.SetDeadline(time.Now().Add(testclient.Timeout)))
	header := `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>`
	auth := base64.StdEncoding.EncodeToString([]byte("\x00" + name + "\x00" + password))
	_, err = c.Write([]byte(header + `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>` + auth + `</auth>` +
		header + `<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq>`))
	require.NoError(b, err)
	var got []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(got, []byte("</jid>")) {
		n, err := c.Read(buf)
		require.NoError(b, err, "login %s: %s", name, got)
		got = append(got, buf[:n]...)
	}
	require.NoError(b, c.SetDeadline(time.Time{}))
	return c
}

// dropRouter is a host.RawRouter that drops everything.
type dropRouter struct{ host.RawRouter }

func (dropRouter) RouteRaw(context.Context, jid.JID, []byte) error { return nil }

// BenchmarkScaleMemberships: memory and time per channel membership as the
// example server holds it: the participant in the built-in MIX service
// (joined through its Deliver, as the participant's server sends the join)
// and the channel item in the user's roster (roster.MemStore). Channels
// have 100 participants; each user is in 20 channels. With -benchtime
// 2000000x this is 100,000 users with 20 memberships each. The baseline
// keeps the same JIDs and participant ids in plain maps.
func BenchmarkScaleMemberships(b *testing.B) {
	const perUser, perChannel = 20, 100
	channelJID := func(k int) string { return fmt.Sprintf("c%d@%s", k, mixDomain) }
	// With n memberships, user i joins channels (i·20 + j) mod channels,
	// j < 20.
	layout := func(n int) (channels int, membership func(int) (int, int)) {
		channels = max(perUser, n/perChannel)
		return channels, func(m int) (int, int) {
			i, j := m/perUser, m%perUser
			return i, (i*perUser + j) % channels
		}
	}

	b.Run("memserver", func(b *testing.B) {
		channels, membership := layout(b.N)
		ctx := context.Background()
		svc := mixservice.New(mixservice.Config{Domain: mixDomain, Router: dropRouter{}, Limits: mixservice.Limits{
			Channels: channels, ChannelsPerOwner: channels, Participants: 2 * perChannel,
		}})
		defer svc.Close()
		for k := range channels {
			require.NoError(b, svc.Deliver(ctx, []byte(`<iq type="set" id="c" from="owner@localhost/r" to="`+mixDomain+`"><create xmlns="urn:xmpp:mix:core:1" channel="c`+fmt.Sprint(k)+`"/></iq>`)))
		}
		rosters := roster.NewMemStore()
		before := heapInUse()
		start := time.Now()
		b.ResetTimer()
		for n := range b.N {
			u, k := membership(n)
			user := fmt.Sprintf("user%d@localhost", u)
			require.NoError(b, svc.Deliver(ctx, []byte(`<iq type="set" id="j" from="`+user+`" to="`+channelJID(k)+`"><join xmlns="urn:xmpp:mix:core:1"><subscribe node="urn:xmpp:mix:nodes:messages"/><nick>n`+fmt.Sprint(u)+`</nick></join></iq>`)))
			_, err := rosters.Put(ctx, jid.MustParse(user), roster.Item{JID: jid.MustParse(channelJID(k)), Subscription: roster.Both, Channel: true, ParticipantID: fmt.Sprintf("%016x", n)})
			require.NoError(b, err)
		}
		b.StopTimer()
		took := time.Since(start)
		reportPerItem(b, before, "B/membership")
		b.ReportMetric(float64(heapInUse()-before)/(1<<20), "MiB-total")
		b.ReportMetric(took.Seconds(), "s-total")
		held := 0
		for _, c := range svc.Channels() {
			held += len(c.Participants)
		}
		require.Equal(b, b.N, held, "memberships the MIX service holds")
		runtime.KeepAlive(rosters)
	})
	b.Run("baseline-maps", func(b *testing.B) {
		type key struct{ user, channel string }
		_, membership := layout(b.N)
		m := make(map[key]string)
		before := heapInUse()
		b.ResetTimer()
		for n := range b.N {
			u, k := membership(n)
			m[key{fmt.Sprintf("user%d@localhost", u), channelJID(k)}] = fmt.Sprintf("%016x", n)
		}
		b.StopTimer()
		reportPerItem(b, before, "B/membership")
		runtime.KeepAlive(m)
	})
}

// BenchmarkScaleArchive: memory per archived message in archive.MemStore,
// for a typical MIX message as the fan-out archives it (about 560 bytes),
// against the stanza bytes alone.
func BenchmarkScaleArchive(b *testing.B) {
	stanza := []byte(`<message from="coven@mix.shakespeare.example/123456" type="groupchat" id="77E07BB0-55CF-4BD4-890E-3F7C0E686BBD"><body>Harpier cries: &apos;tis time, &apos;tis time.</body><mix xmlns="urn:xmpp:mix:core:1"><nick>thirdwitch</nick><jid>hag66@shakespeare.example</jid></mix><stanza-id xmlns="urn:xmpp:sid:0" by="coven@mix.shakespeare.example" id="5c1a5d3f-1b4c-4e5b-9d2a-0f3e2b1c4d5e"/><origin-id xmlns="urn:xmpp:sid:0" id="f4e3d2c1-b0a9-4876-5432-10fedcba9876"/><stanza-id xmlns="urn:xmpp:sid:0" by="hag66@shakespeare.example" id="0000000000000000"/></message>`)
	owner, with := jid.MustParse("hag66@shakespeare.example"), jid.MustParse("coven@mix.shakespeare.example")
	b.Run("memstore", func(b *testing.B) {
		store := archive.NewMemStore()
		var ids archive.IDGenerator
		before := heapInUse()
		b.ResetTimer()
		for range b.N {
			id, at := ids.Next()
			require.NoError(b, store.Append(context.Background(), owner, archive.Record{ID: id, With: with, Time: at, Stanza: stanza}))
		}
		b.StopTimer()
		reportPerItem(b, before, "B/message")
		b.ReportMetric(float64(len(stanza)), "stanza-bytes")
		runtime.KeepAlive(store)
	})
	b.Run("baseline-bytes", func(b *testing.B) {
		var kept [][]byte
		before := heapInUse()
		b.ResetTimer()
		for range b.N {
			kept = append(kept, bytes.Clone(stanza))
		}
		b.StopTimer()
		reportPerItem(b, before, "B/message")
		runtime.KeepAlive(kept)
	})
}
