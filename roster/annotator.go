package roster

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/rawstanza"
	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/internal/xmltok"
	"github.com/mixpam/mixpam/ns"
)

// Annotator adds XEP-0405 §2.10 annotations to a host's own roster module:
// the host keeps its module for everything else and only gains annotation.
// Every roster get or set from a client goes through Request before the
// host's module sees it, and every roster result and push the module sends
// to a client goes through Transform. The host's Store (which Roster
// usually is) must report channel items with Channel set, and the module's
// ver attributes must be the decimal Store versions, as Pusher renders them.
//
// Annotator is a plain value, safe for concurrent use when its fields are.
type Annotator struct {
	// Sessions holds the per-session annotate flags.
	Sessions Sessions
	// Roster tells which items are channels, and the participant ids.
	Roster ItemLookup
}

// Request prepares a client's roster request for the host's module. iq.From
// must be the requesting session's full JID. For a roster get it records
// whether the get asked for annotations (for that session only: a get
// without <annotate/> clears the flag), and returns the payload without
// <annotate/> and with the client's ver translated back to the module's
// version (or to "" when the client's cache was made in the other annotation
// state, so that the module sends the whole roster). For a roster set it
// refuses an edit or removal of a channel item with not-allowed (channels
// are left with client-leave, XEP-0405 §2.8) and otherwise returns the
// payload unchanged. IQs of other types are returned untouched.
//
// An error is either a stanza.Error to send back to the client instead of
// passing the request on (see ParseQuery), or a failure to read payload,
// set the flag or look up the item.
func (a Annotator) Request(ctx context.Context, iq stanza.IQ, payload xml.TokenReader) (xml.TokenReader, error) {
	if iq.Type != stanza.GetIQ && iq.Type != stanza.SetIQ {
		return payload, nil
	}
	toks, err := readElement(payload)
	if err != nil {
		return nil, err
	}
	q, err := ParseQuery(iq.Type, tokenSlice(toks))
	if err != nil {
		return nil, err
	}
	user := iq.From.Bare()
	if iq.To.String() != "" && !iq.To.Bare().Equal(user) {
		// Someone else's roster: the module answers forbidden.
		return tokenSlice(toks), nil
	}
	if iq.Type == stanza.GetIQ {
		err := a.Sessions.SetAnnotate(ctx, iq.From, q.Annotate)
		if err != nil && !errors.Is(err, host.ErrNoSession) {
			return nil, fmt.Errorf("roster: setting the annotate flag: %w", err)
		}
		return tokenSlice(rewriteGet(toks, q)), nil
	}
	switch it, err := a.Roster.Item(ctx, user, q.Item.JID); {
	case err == nil && it.Channel:
		return nil, channelNotAllowed()
	case err != nil && !errors.Is(err, ErrNotFound):
		return nil, fmt.Errorf("roster: looking up %s: %w", q.Item.JID, err)
	}
	return tokenSlice(toks), nil
}

// Transform returns the roster result or push that the host's module sends
// to session (a full JID) as the session must see it: when the session's
// flag is set, every item whose JID is a channel item in the user's roster
// gains <channel xmlns='urn:xmpp:mix:roster:0' participant-id='…'/> and the
// query's ver gets the annotated-version suffix; otherwise the stanza is
// left as it is. Either way <channel/> elements in that namespace that the
// module put in items are dropped (this package owns them: nothing is
// annotated unasked), and everything else (attributes, groups, unknown
// extensions, whitespace) passes through unchanged.
//
// stanza may be the whole <iq/> or only its <query/>. Removal items
// (subscription='remove') are never annotated. Errors looking up items are
// returned by the reader's Token.
func (a Annotator) Transform(ctx context.Context, session jid.JID, stanza xml.TokenReader) (xml.TokenReader, error) {
	annotate, err := annotates(ctx, a.Sessions, session)
	if err != nil {
		return nil, fmt.Errorf("roster: reading the annotate flag: %w", err)
	}
	return &annotating{
		ctx:      ctx,
		r:        stanza,
		lookup:   a.Roster,
		user:     session.Bare(),
		annotate: annotate,
	}, nil
}

// channelNotAllowed is the answer to a client's attempt to edit or remove a
// channel item.
func channelNotAllowed() stanza.Error {
	return rawstanza.Error(stanza.Cancel, stanza.NotAllowed,
		"the item is a MIX channel: leave the channel with client-leave (XEP-0405 §2.8) instead of editing it")
}

// readElement copies the tokens of r's first element, skipping what comes
// before it. An r without an element yields no tokens.
func readElement(r xml.TokenReader) ([]xml.Token, error) {
	r = xmlenc.Guard(r)
	var toks []xml.Token
	depth := 0
	for {
		tok, err := r.Token()
		if _, isStart := tok.(xml.StartElement); tok != nil && (isStart || len(toks) > 0) {
			switch tok.(type) {
			case xml.StartElement:
				depth++
			case xml.EndElement:
				depth--
			}
			toks = append(toks, xml.CopyToken(tok))
			if depth == 0 {
				return toks, nil
			}
		}
		if errors.Is(err, io.EOF) && len(toks) == 0 {
			return nil, nil
		}
		if err != nil {
			return nil, readError(err)
		}
	}
}

// rewriteGet returns the tokens of a roster get query without <annotate/>
// and with the ver attribute translated for the host's module.
func rewriteGet(toks []xml.Token, q Query) []xml.Token {
	out := make([]xml.Token, 0, len(toks))
	depth, skipFrom := 0, 0 // skipFrom: depth of the dropped element, 0 if none
	for _, tok := range toks {
		start, isStart := tok.(xml.StartElement)
		switch {
		case isStart:
			depth++
		case isEnd(tok):
			depth--
		}
		switch {
		case skipFrom > 0:
			if depth < skipFrom {
				skipFrom = 0
			}
			continue
		case !isStart:
		case depth == 1 && q.HasVer:
			v, ok := cachedVer(q.Ver, q.Annotate)
			if !ok {
				v = ""
			}
			tok = withAttr(start, "ver", v)
		case depth == 2 && xmltok.Space(start, ns.Roster) == ns.MIXRoster && start.Name.Local == "annotate":
			skipFrom = depth
			continue
		}
		out = append(out, tok)
	}
	return out
}

func isEnd(tok xml.Token) bool {
	_, ok := tok.(xml.EndElement)
	return ok
}

// withAttr returns a copy of start with attribute local set to value.
func withAttr(start xml.StartElement, local, value string) xml.StartElement {
	start = start.Copy()
	for i, a := range start.Attr {
		if a.Name.Space == "" && a.Name.Local == local {
			start.Attr[i].Value = value
			return start
		}
	}
	start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: local}, Value: value})
	return start
}

// tokenSlice returns a reader over toks.
func tokenSlice(toks []xml.Token) xml.TokenReader {
	return xmlstream.ReaderFunc(func() (xml.Token, error) {
		if len(toks) == 0 {
			return nil, io.EOF
		}
		tok := toks[0]
		toks = toks[1:]
		return tok, nil
	})
}
