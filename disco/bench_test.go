package disco_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/xml"
	"io"
	"slices"
	"sync"
	"testing"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/disco"
)

// drain reads r to its end, as the cheapest possible consumer.
func drain(b *testing.B, r xml.TokenReader) {
	for {
		_, err := r.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResolverCached measures a lookup answered from the cache against
// a bare mutex-guarded map lookup.
func BenchmarkResolverCached(b *testing.B) {
	n := newFakeNet(map[string]fakeClient{"juliet@capulet.lit/balcony": {body: mixBody}})
	r := newResolver(b, disco.ResolverConfig{Exchanger: n})
	client := jid.MustParse("juliet@capulet.lit/balcony")
	caps := capsFor(b, mixBody)
	if _, err := r.MIXCapable(b.Context(), client, caps); err != nil {
		b.Fatal(err)
	}
	b.Run("baseline-map", func(b *testing.B) {
		var mu sync.Mutex
		m := map[string]bool{caps.Hash + " " + caps.Ver: true}
		b.ReportAllocs()
		for b.Loop() {
			mu.Lock()
			ok := m[caps.Hash+" "+caps.Ver]
			mu.Unlock()
			if !ok {
				b.Fatal("miss")
			}
		}
	})
	b.Run("mixpam", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ok, err := r.MIXCapable(b.Context(), client, caps); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
	if n.count() != 1 {
		b.Fatalf("%d queries, want 1", n.count())
	}
}

// BenchmarkVerify measures parsing a disco#info result and computing its
// verification string (XEP-0115 §5.3 example) against decoding its tokens and
// hashing a ready-made S.
func BenchmarkVerify(b *testing.B) {
	raw := []byte(xep0115Complex)
	s := []byte("client/pc/el/Ψ 0.11<client/pc/en/Psi 0.11<http://jabber.org/protocol/caps<http://jabber.org/protocol/disco#info<" +
		"http://jabber.org/protocol/disco#items<http://jabber.org/protocol/muc<urn:xmpp:dataforms:softwareinfo<" +
		"ip_version<ipv4<ipv6<os<Mac<os_version<10.5.1<software<Psi<software_version<0.11<")
	b.Run("baseline-decode+sha1", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			drain(b, xml.NewDecoder(bytes.NewReader(raw)))
			sha1.Sum(s)
		}
	})
	b.Run("mixpam", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			inf, err := disco.ParseInfo(xml.NewDecoder(bytes.NewReader(raw)))
			if err != nil {
				b.Fatal(err)
			}
			if v, err := disco.VerificationString(inf, "sha-1"); err != nil || v != "q07IKJEyjvHSyhy//CH0CxmKi8w=" {
				b.Fatal(v, err)
			}
		}
	})
}

// BenchmarkAccountServeIQ measures answering the owner's disco#info request,
// the answer serialised, against decoding the request and copying a
// ready-made answer.
func BenchmarkAccountServeIQ(b *testing.B) {
	var buf []byte
	reply := func(_ context.Context, _ jid.JID, raw []byte) error {
		buf = append(buf[:0], raw...)
		return nil
	}
	a := testAccount(b)
	iq := stanza.IQ{ID: "info1", Type: stanza.GetIQ, From: jid.MustParse("juliet@capulet.lit/balcony"), To: jid.MustParse("juliet@capulet.lit")}
	req := []byte(query)
	if err := a.ServeIQ(b.Context(), iq, xml.NewDecoder(bytes.NewReader(req)), reply); err != nil {
		b.Fatal(err)
	}
	answer := slices.Clone(buf)
	b.Run("baseline-decode+bytecopy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			drain(b, xml.NewDecoder(bytes.NewReader(req)))
			buf = append(buf[:0], answer...)
		}
	})
	b.Run("mixpam", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := a.ServeIQ(b.Context(), iq, xml.NewDecoder(bytes.NewReader(req)), reply); err != nil {
				b.Fatal(err)
			}
		}
	})
}
