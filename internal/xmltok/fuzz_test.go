package xmltok

import (
	"bytes"
	"encoding/xml"
	"testing"
)

// FuzzText reads arbitrary input as an element's content, as a handler
// reads a hostile payload: Text and Skip end, without panicking, and Text
// keeps no more than its limit.
func FuzzText(f *testing.F) {
	for _, seed := range []string{
		`<group>Friends</group>`, // RFC 6121 §2.1.2
		`<value>urn:xmpp:mam:2</value>`,
		`<value>a<b>x</b>c</value>`,
		`<group>` + string(bytes.Repeat([]byte("x"), 40)) + `</group>`,
		`<v><![CDATA[<x/>]]><!-- c --></v>`,
		`<v>cut`,
		`<v><a><b></a></v>`,
	} {
		f.Add([]byte(seed), 16)
	}
	f.Fuzz(func(t *testing.T, doc []byte, max int) {
		if max < 0 || max > 1<<16 {
			return
		}
		for _, skip := range []bool{false, true} {
			d := xml.NewDecoder(bytes.NewReader(doc))
			if _, err := d.Token(); err != nil {
				return
			}
			if skip {
				_ = Skip(d)
				continue
			}
			v, _ := Text(d, max)
			if len(v) > max {
				t.Fatalf("Text kept %d bytes, more than %d", len(v), max)
			}
		}
	})
}
