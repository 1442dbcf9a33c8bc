package roster

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/internal/xmltok"
	"github.com/mixpam/mixpam/ns"
)

// annotating is the token stream Annotator.Transform returns. It passes
// tokens through as they come, except that it drops urn:xmpp:mix:roster:0
// <channel/> children of roster items, adds the right one before an item's
// end when the session asked for annotations, and suffixes the query's ver.
type annotating struct {
	ctx      context.Context
	r        xml.TokenReader
	lookup   ItemLookup
	user     jid.JID
	annotate bool

	spaces   []string // namespace of each open element, outermost first
	query    int      // depth of the open roster <query/>, 0 if none
	item     int      // depth of the open <item/> in it, 0 if none
	skipFrom int      // depth of the element being dropped, 0 if none
	pid      string   // participant id to annotate the open item with
	channel  bool     // whether the open item is annotated

	pending []xml.Token // tokens to hand out before reading on
	err     error       // error to return once pending is empty
}

// Token implements xml.TokenReader.
func (a *annotating) Token() (xml.Token, error) {
	for {
		if len(a.pending) > 0 {
			tok := a.pending[0]
			a.pending = a.pending[1:]
			return tok, nil
		}
		if a.err != nil {
			return nil, a.err
		}
		tok, err := a.r.Token()
		if tok == nil {
			return nil, err
		}
		out, keep, perr := a.process(tok)
		switch {
		case perr != nil:
			a.pending, a.err = nil, perr
			return nil, perr
		case keep:
			if err != nil && len(a.pending) > 0 {
				// Hand out the pending tokens before the error.
				a.err, err = err, nil
			}
			return out, err
		case err != nil:
			return nil, err
		}
	}
}

// process returns what tok turns into, if anything (keep false: nothing).
// When tok turns into several tokens, the first is returned and the others
// are queued in a.pending.
func (a *annotating) process(tok xml.Token) (out xml.Token, keep bool, err error) {
	switch t := tok.(type) {
	case xml.StartElement:
		parent := ""
		if len(a.spaces) > 0 {
			parent = a.spaces[len(a.spaces)-1]
		}
		space := xmltok.Space(t, parent)
		a.spaces = append(a.spaces, space)
		depth := len(a.spaces)
		switch {
		case a.skipFrom > 0:
			return nil, false, nil
		case a.query == 0 && depth <= 2 && space == ns.Roster && t.Name.Local == "query":
			a.query = depth
			if v, ok := xmltok.Attr(t, "ver"); ok && a.annotate {
				return withAttr(t, "ver", sessionVer(v, true)), true, nil
			}
		case a.query > 0 && depth == a.query+1 && space == ns.Roster && t.Name.Local == "item":
			a.item = depth
			var err error
			a.pid, a.channel, err = a.annotation(t)
			if err != nil {
				return nil, false, err
			}
		case a.item > 0 && depth == a.item+1 && space == ns.MIXRoster && t.Name.Local == "channel":
			a.skipFrom = depth
			return nil, false, nil
		}
	case xml.EndElement:
		depth := len(a.spaces)
		if depth == 0 {
			return nil, false, errors.New("roster: unbalanced end element in the roster stanza")
		}
		a.spaces = a.spaces[:depth-1]
		switch {
		case a.skipFrom > 0:
			if depth == a.skipFrom {
				a.skipFrom = 0
			}
			return nil, false, nil
		case depth == a.item:
			a.item = 0
			if a.channel {
				name := xml.Name{Space: ns.MIXRoster, Local: "channel"}
				a.pending = append(a.pending, xml.EndElement{Name: name}, t)
				return xml.StartElement{Name: name, Attr: []xml.Attr{{Name: xml.Name{Local: "participant-id"}, Value: a.pid}}}, true, nil
			}
		case depth == a.query:
			a.query = 0
		}
	default:
		if a.skipFrom > 0 {
			return nil, false, nil
		}
	}
	return tok, true, nil
}

// annotation decides whether the item that start opens gets a <channel/>.
func (a *annotating) annotation(start xml.StartElement) (pid string, ok bool, err error) {
	if !a.annotate {
		return "", false, nil
	}
	if sub, _ := xmltok.Attr(start, "subscription"); sub == string(Remove) {
		return "", false, nil
	}
	s, _ := xmltok.Attr(start, "jid")
	contact, perr := jid.Parse(s)
	if perr != nil {
		return "", false, nil
	}
	it, err := a.lookup.Item(a.ctx, a.user, contact)
	switch {
	case errors.Is(err, ErrNotFound):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("roster: looking up %s: %w", contact, err)
	}
	return it.ParticipantID, it.Channel, nil
}
