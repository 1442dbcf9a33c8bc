package cluster_test

import (
	"context"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
)

// The join of XEP-0405 Listings 5 and 6.
var (
	hag66Bare = jid.MustParse("hag66@shakespeare.example")
	coven     = jid.MustParse("coven@mix.shakespeare.example")
	clientID  = "E6E10350-76CF-40C6-B91B-1EA08C332FC7"
	joinReq   = `<join xmlns="urn:xmpp:mix:core:1"><subscribe node="urn:xmpp:mix:nodes:messages"/></join>`
	joinRes   = `<join xmlns="urn:xmpp:mix:core:1" jid="123456#coven@mix.shakespeare.example"><subscribe node="urn:xmpp:mix:nodes:messages"/></join>`
)

type exchangeResult struct {
	resp host.Response
	err  error
}

// sendJoin has node asker forward the join through Exchange, and returns
// the id the channel saw (on the asker's local router) and the pending
// result.
func sendJoin(t *testing.T, asker testNode) (string, <-chan exchangeResult) {
	t.Helper()
	changed := asker.local.wait()
	done := make(chan exchangeResult, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req := stanza.IQ{Type: stanza.SetIQ, From: hag66Bare, To: coven, ID: clientID}
		resp, err := asker.Exchange(ctx, req, xml.NewDecoder(strings.NewReader(joinReq)))
		done <- exchangeResult{resp, err}
	}()
	limit := waitLimit(t)
	for len(asker.local.to(coven)) == 0 {
		select {
		case <-changed:
			changed = asker.local.wait()
		case <-limit:
			t.Fatal("the join never reached the channel")
		}
	}
	sent := asker.local.to(coven)[0]
	return stanzaID(t, sent), done
}

func stanzaID(t *testing.T, raw []byte) string {
	t.Helper()
	var iq struct {
		ID string `xml:"id,attr"`
	}
	require.NoError(t, xml.Unmarshal(raw, &iq))
	return iq.ID
}

// answer has node at receive the channel's answer with the given header.
func answer(t *testing.T, at testNode, iq stanza.IQ) bool {
	t.Helper()
	taken, err := at.Receive(t.Context(), iq, xml.NewDecoder(strings.NewReader(joinRes)))
	require.NoError(t, err)
	return taken
}

// TestExchangeAnswerOnOtherNode: node 0 forwards a join; the channel's
// answer arrives at node 1 (or 0) and reaches node 0's Exchange, with the
// client's id.
func TestExchangeAnswerOnOtherNode(t *testing.T) {
	for _, at := range []int{1, 0} {
		nodes := startNodes(t, 2)
		wireID, done := sendJoin(t, nodes[0])
		require.NotEqual(t, clientID, wireID, "the id the channel sees names the asking node")
		require.True(t, strings.HasSuffix(wireID, clientID))

		// An answer with the client's own id is nobody's: left to the host.
		require.False(t, answer(t, nodes[at], stanza.IQ{Type: stanza.ResultIQ, From: coven, To: hag66Bare, ID: clientID}))

		require.True(t, answer(t, nodes[at], stanza.IQ{Type: stanza.ResultIQ, From: coven, To: hag66Bare, ID: wireID}), "answer received at node %d", at)
		res := <-done
		require.NoError(t, res.err)
		require.Equal(t, clientID, res.resp.IQ.ID, "the answer carries the client's id")
		require.True(t, res.resp.IQ.From.Equal(coven) && res.resp.IQ.To.Equal(hag66Bare))
		require.Equal(t, stanza.ResultIQ, res.resp.IQ.Type)
		// The payload as host.Exchange serialises it (empty elements
		// written out with an end tag).
		require.Equal(t, strings.Replace(joinRes, `/>`, `></subscribe>`, 1), string(res.resp.Payload))
	}
}

// TestExchangeForgedAnswerChangesNothing: answers received at node 1 that
// do not match node 0's request exactly (another sender, another
// recipient, another id) leave it waiting and are dropped, not routed on
// (routing an answer with a node's tag on would bring it back to that
// node, without end); the genuine answer, forwarded after them on the same
// subject, still completes the exchange.
func TestExchangeForgedAnswerChangesNothing(t *testing.T) {
	nodes := startNodes(t, 2)
	wireID, done := sendJoin(t, nodes[0])
	other := jid.MustParse("other@mix.shakespeare.example")
	forgeries := []stanza.IQ{
		{Type: stanza.ResultIQ, From: other, To: hag66Bare, ID: wireID},
		{Type: stanza.ResultIQ, From: coven, To: jid.MustParse("hag01@shakespeare.example"), ID: wireID},
		{Type: stanza.ResultIQ, From: coven, To: hag66Bare, ID: wireID + "x"},
	}
	for _, forged := range forgeries {
		require.True(t, answer(t, nodes[1], forged), "a tagged answer is the cluster's: %+v", forged)
	}
	require.True(t, answer(t, nodes[1], stanza.IQ{Type: stanza.ResultIQ, From: coven, To: hag66Bare, ID: wireID}))
	res := <-done
	require.NoError(t, res.err)
	require.Equal(t, clientID, res.resp.IQ.ID)
	require.True(t, res.resp.IQ.From.Equal(coven), "the genuine answer completed the exchange, not a forged one")
	for _, forged := range forgeries {
		require.Empty(t, nodes[0].local.to(forged.To), "forged answer %+v routed on", forged)
	}
	// An answer with node 0's own tag received at node 0 that matches
	// nothing is dropped there too.
	require.True(t, answer(t, nodes[0], stanza.IQ{Type: stanza.ResultIQ, From: coven, To: hag66Bare, ID: wireID}))
	require.Empty(t, nodes[0].local.to(hag66Bare))
}
