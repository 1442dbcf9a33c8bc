package mixservice

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"strconv"
	"testing"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host"
)

// discard is a RawRouter that drops what it is given, counting bytes.
type discard struct{ bytes int }

func (d *discard) Route(_ context.Context, _ jid.JID, r xml.TokenReader) error {
	for {
		if _, err := r.Token(); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

func (d *discard) RouteRaw(_ context.Context, _ jid.JID, raw []byte) error {
	d.bytes += len(raw)
	return nil
}

var _ host.RawRouter = (*discard)(nil)

// BenchmarkReflect measures a groupchat message reflected to every
// participant of a channel, against two baselines in the same run: copying
// the incoming stanza once per participant (the floor for handing each one
// its own bytes) and decoding the incoming stanza once with encoding/xml
// (what the host pays anyway to route it).
func BenchmarkReflect(b *testing.B) {
	msg := []byte(harpier)
	for _, n := range []int{1, 10, 100} {
		b.Run("participants="+strconv.Itoa(n), func(b *testing.B) {
			b.Run("baseline-bytecopy", func(b *testing.B) {
				buf := make([]byte, 0, 1024)
				b.ReportAllocs()
				for b.Loop() {
					for range n {
						buf = append(buf[:0], msg...)
					}
				}
			})
			b.Run("baseline-decode", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					d := xml.NewDecoder(bytes.NewReader(msg))
					for {
						if _, err := d.Token(); err != nil {
							break
						}
					}
				}
			})
			b.Run("mixservice", func(b *testing.B) {
				r := &discard{}
				svc := New(Config{Domain: service, Router: r})
				setup := []string{createIQ(hag66Res, ` channel='coven'`)}
				for i := range n {
					user := "witch" + strconv.Itoa(i) + "@shakespeare.example"
					setup = append(setup, joinIQ(user, `<subscribe node='urn:xmpp:mix:nodes:messages'/><nick>`+user+`</nick>`))
				}
				setup = append(setup, joinIQ(hag66, `<nick>thirdwitch</nick>`)) // the sender, not subscribed
				for _, raw := range setup {
					if err := svc.Deliver(context.Background(), []byte(raw)); err != nil {
						b.Fatal(err)
					}
				}
				if ch := svc.Channels(); len(ch) != 1 || len(ch[0].Participants) != n+1 {
					b.Fatalf("setup failed: %+v", ch)
				}
				r.bytes = 0
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					if err := svc.Deliver(ctx, msg); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(r.bytes)/float64(b.N)/float64(n), "B/copy")
			})
		})
	}
}
