package mixpam_test

import (
	"context"
	"encoding/xml"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam"
	"github.com/mixpam/mixpam/disco"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/presence"
	"github.com/mixpam/mixpam/roster"
)

// blockingExchanger answers disco#info queries: for node "slow" only once
// release is closed, with a MIX-capable answer; otherwise with the given
// features (not MIX) so that the answer verifies and is cached.
type blockingExchanger struct {
	release chan struct{}
	queried chan string
}

func (x blockingExchanger) Exchange(ctx context.Context, req stanza.IQ, payload xml.TokenReader) (host.Response, error) {
	var node string
	for {
		tok, err := payload.Token()
		if err != nil {
			break
		}
		if s, ok := tok.(xml.StartElement); ok {
			for _, a := range s.Attr {
				if a.Name.Local == "node" {
					node = a.Value
				}
			}
		}
	}
	x.queried <- node
	feats := `<identity category="client" type="pc"/><feature var="http://jabber.org/protocol/disco#info"/>`
	if strings.HasPrefix(node, "slow") {
		<-x.release
		feats += `<feature var="urn:xmpp:mix:core:1"/>`
	}
	return host.Response{IQ: stanza.IQ{ID: req.ID, Type: stanza.ResultIQ, From: req.To, To: req.From},
		Payload: []byte(`<query xmlns="http://jabber.org/protocol/disco#info" node="` + node + `">` + feats + `</query>`)}, nil
}

type recFlags struct {
	*host.MemSessions
	mu  sync.Mutex
	log []bool
}

func (f *recFlags) SetMIXCapable(ctx context.Context, s jid.JID, c bool) error {
	f.mu.Lock()
	f.log = append(f.log, c)
	f.mu.Unlock()
	return f.MemSessions.SetMIXCapable(ctx, s, c)
}

// A verdict for caps the client no longer advertises is never recorded:
// the client advertised unknown caps X (its lookup hangs), then caps Y
// cached as not MIX capable; X's late MIX-capable answer must not flip the
// flag (XEP-0405 §2.1: only a MIX-capable client gets channel traffic).
func TestStaleCapsVerdictNotApplied(t *testing.T) {
	full := jid.MustParse("alice@example.org/laptop")
	sessions := host.NewMemSessions()
	sessions.Add(host.Resource{JID: full})
	flags := &recFlags{MemSessions: sessions}
	w := make(wire, 64)
	x := blockingExchanger{release: make(chan struct{}), queried: make(chan string, 4)}
	res, err := disco.NewResolver(disco.ResolverConfig{Exchanger: x})
	require.NoError(t, err)
	plainVer, err := disco.VerificationString(disco.Info{Identities: []info.Identity{{Category: "client", Type: "pc"}}, Features: []string{"http://jabber.org/protocol/disco#info"}}, "sha-1")
	require.NoError(t, err)
	// Cache the plain (not MIX) ver through another client.
	_, err = res.MIXCapable(context.Background(), jid.MustParse("bob@example.org/x"), disco.Caps{Hash: "sha-1", Node: "plain", Ver: plainVer})
	require.NoError(t, err)
	<-x.queried
	pres, err := presence.New(presence.Config{Sessions: sessions, Router: w, Rosters: roster.NewMemStore()})
	require.NoError(t, err)
	d, err := mixpam.NewDispatcher(mixpam.Config{Router: w, Presence: pres, Resolver: res, Flags: flags})
	require.NoError(t, err)
	capsPresence := func(node, ver string) string {
		return `<presence from="alice@example.org/laptop"><c xmlns="http://jabber.org/protocol/caps" hash="sha-1" node="` + node + `" ver="` + ver + `"/></presence>`
	}
	// 1. caps X, unknown (its lookup hangs); 2. caps Y, cached not MIX.
	require.NoError(t, dispatch(d, capsPresence("slow", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=")))
	<-x.queried
	require.NoError(t, dispatch(d, capsPresence("plain", plainVer)))
	close(x.release)
	d.Close()
	r, _ := sessions.Resource(full)
	require.False(t, r.MIXCapable)
	// The client advertised Y (not MIX) before X's answer came: X's verdict
	// must never be applied.
	require.NotContains(t, flags.log, true, "MIX capability recorded for caps the client no longer advertised: %v", flags.log)
}
