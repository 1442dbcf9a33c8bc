package disco_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/disco"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
	"github.com/mixpam/mixpam/ns"
)

// The seed corpora in testdata/fuzz hold the XEP-0115, XEP-0030, XEP-0369 and
// XEP-0405 examples.

func decoderOf(b []byte) xml.TokenReader { return xml.NewDecoder(bytes.NewReader(b)) }

// FuzzParseCaps parses the children of a presence, as a client sends them.
func FuzzParseCaps(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, found, err := disco.ParseCaps(decoderOf(payload))
		if err != nil || !found {
			require.False(t, found)
			require.Zero(t, c)
			return
		}
		require.NotEmpty(t, c.Node)
		require.NotEmpty(t, c.Ver)
	})
}

// FuzzParseInfo parses a disco#info result, as a client answers it, and
// computes its verification string.
func FuzzParseInfo(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload []byte) {
		inf, err := disco.ParseInfo(decoderOf(payload))
		if err != nil {
			require.Zero(t, inf)
			return
		}
		v1, err1 := disco.VerificationString(inf, "sha-1")
		v2, err2 := disco.VerificationString(inf, "sha-1")
		require.Equal(t, v1, v2)
		require.Equal(t, err1, err2)
		if err1 == nil {
			require.Len(t, v1, 28)
		}
		require.Equal(t, inf.HasFeature(ns.MIXCore), inf.MIXCapable())
	})
}

// FuzzAccountServeIQ answers disco#info requests from anyone to anything.
func FuzzAccountServeIQ(f *testing.F) {
	rec := hosttest.NewRecorder(nil)
	a, err := disco.NewAccount(disco.AccountConfig{
		Features:       disco.Features{Archive: true},
		Identities:     []info.Identity{{Category: "pubsub", Type: "pep"}},
		OwnerFeatures:  []string{"urn:xmpp:mam:2"},
		PublicFeatures: []string{"urn:example:public"},
		Authorizer: disco.AuthorizerFunc(func(_ context.Context, account, requester jid.JID) (bool, error) {
			return requester.Domainpart() == "shakespeare.lit", nil
		}),
	})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, payload []byte, from, to, typ string) {
		iq := stanza.IQ{ID: "fuzz", Type: stanza.IQType(typ)}
		var err error
		if iq.From, err = jid.Parse(from); from != "" && err != nil {
			return
		}
		if iq.To, err = jid.Parse(to); to != "" && err != nil {
			return
		}
		rec.Reset()
		err = a.ServeIQ(t.Context(), iq, decoderOf(payload), host.RouteReplies(rec))
		delivered := rec.Deliveries()
		if err != nil {
			require.True(t, errors.Is(err, host.ErrNotHandled) || errors.Is(err, host.ErrNoSender), err)
			require.Empty(t, delivered)
			return
		}
		// The response is one well-formed IQ answering the request, from the
		// account it was addressed to.
		require.Len(t, delivered, 1)
		require.True(t, delivered[0].To.Equal(iq.From))
		account := iq.To
		if account.Equal(jid.JID{}) {
			account = iq.From.Bare()
		}
		d := xml.NewDecoder(bytes.NewReader(delivered[0].Stanza))
		tok, err := d.Token()
		require.NoError(t, err)
		got, err := stanza.NewIQ(tok.(xml.StartElement))
		require.NoError(t, err)
		require.Equal(t, "fuzz", got.ID)
		require.Contains(t, []stanza.IQType{stanza.ResultIQ, stanza.ErrorIQ}, got.Type)
		require.True(t, got.To.Equal(iq.From))
		require.True(t, got.From.Equal(account))
		require.NoError(t, d.Skip())
		_, err = d.Token()
		require.Error(t, err, "one element only")
	})
}
