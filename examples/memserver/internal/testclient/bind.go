package testclient

import (
	"context"
	"encoding/xml"
	"errors"
	"io"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
)

const nsBind = "urn:ietf:params:xml:ns:xmpp-bind"

// bind is the client side of resource binding (RFC 6120 §7). mellium's
// BindResource sends an empty <resource/> whatever was asked, so tests that
// need a given resource bind with this feature.
func bind(resource string) xmpp.StreamFeature {
	return xmpp.StreamFeature{
		Name:       xml.Name{Space: nsBind, Local: "bind"},
		Necessary:  xmpp.Authn,
		Prohibited: xmpp.Ready,
		List: func(context.Context, xmlstream.TokenWriter, xml.StartElement) (bool, error) {
			return true, errors.New("testclient: bind is client-only")
		},
		Parse: func(_ context.Context, d *xml.Decoder, start *xml.StartElement) (bool, interface{}, error) {
			return true, nil, d.Skip()
		},
		Negotiate: func(ctx context.Context, s *xmpp.Session, _ interface{}) (xmpp.SessionState, io.ReadWriter, error) {
			var res xml.TokenReader
			if resource != "" {
				res = xmlstream.Wrap(xmlstream.Token(xml.CharData(resource)), xml.StartElement{Name: xml.Name{Space: nsBind, Local: "resource"}})
			}
			req := stanza.IQ{ID: randomID(), Type: stanza.SetIQ}.Wrap(xmlstream.Wrap(res, xml.StartElement{Name: xml.Name{Space: nsBind, Local: "bind"}}))
			w := s.TokenWriter()
			defer w.Close()
			if _, err := xmlstream.Copy(w, req); err != nil {
				return 0, nil, err
			}
			if err := w.Flush(); err != nil {
				return 0, nil, err
			}
			r := s.TokenReader()
			defer r.Close()
			var resp struct {
				XMLName xml.Name
				Type    string        `xml:"type,attr"`
				JID     string        `xml:"urn:ietf:params:xml:ns:xmpp-bind bind>jid"`
				Error   *stanza.Error `xml:"error"`
			}
			if err := xml.NewTokenDecoder(r).Decode(&resp); err != nil {
				return 0, nil, err
			}
			if resp.Type != string(stanza.ResultIQ) {
				if resp.Error != nil {
					return 0, nil, *resp.Error
				}
				return 0, nil, errors.New("testclient: bind failed")
			}
			j, err := jid.Parse(resp.JID)
			if err != nil {
				return 0, nil, err
			}
			s.UpdateAddr(j)
			return xmpp.Ready, nil, nil
		},
	}
}
