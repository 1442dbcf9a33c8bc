package disco_test

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/disco/info"

	"github.com/mixpam/mixpam/disco"
)

// xep0115Simple is the entity of XEP-0115 §5.2.
var xep0115Simple = disco.Info{
	Identities: []info.Identity{{Category: "client", Type: "pc", Name: "Exodus 0.9.1"}},
	Features: []string{
		"http://jabber.org/protocol/muc",
		"http://jabber.org/protocol/disco#info",
		"http://jabber.org/protocol/caps",
		"http://jabber.org/protocol/disco#items",
	},
}

// xep0115SimpleS is the string S of XEP-0115 §5.2 step 5.
const xep0115SimpleS = "client/pc//Exodus 0.9.1<http://jabber.org/protocol/caps<http://jabber.org/protocol/disco#info<" +
	"http://jabber.org/protocol/disco#items<http://jabber.org/protocol/muc<"

func mustParseInfo(t testing.TB, s string) disco.Info {
	t.Helper()
	inf, err := disco.ParseInfo(tokensOf(s))
	require.NoError(t, err)
	return inf
}

func b64(sum []byte) string { return base64.StdEncoding.EncodeToString(sum) }

func TestVerificationString(t *testing.T) {
	sha256Sum := sha256.Sum256([]byte(xep0115SimpleS))
	sha512Sum := sha512.Sum512([]byte(xep0115SimpleS))
	complexInfo := mustParseInfo(t, xep0115Complex)
	withoutForm := complexInfo
	withoutForm.Forms = nil

	// A form whose FORM_TYPE is not hidden, or that has none, is left out
	// (XEP-0115 §5.4 step 3.6).
	visibleType := complexInfo
	visibleType.Forms = []disco.Form{{Fields: []disco.Field{
		{Var: "FORM_TYPE", Values: []string{"urn:example"}},
		{Var: "f", Values: []string{"v"}},
	}}}
	untyped := complexInfo
	untyped.Forms = []disco.Form{{Fields: []disco.Field{{Var: "f", Values: []string{"v"}}}}}

	// Shuffled input gives the same string.
	shuffled := complexInfo
	shuffled.Identities = []info.Identity{complexInfo.Identities[1], complexInfo.Identities[0]}
	shuffled.Features = []string{complexInfo.Features[3], complexInfo.Features[1], complexInfo.Features[0], complexInfo.Features[2]}
	fields := complexInfo.Forms[0].Fields
	shuffled.Forms = []disco.Form{{Fields: []disco.Field{fields[5], fields[1], fields[0], fields[3], fields[2], fields[4]}}}
	shuffled.Forms[0].Fields[1].Values = []string{"ipv6", "ipv4"}

	for _, tc := range []struct {
		name string
		info disco.Info
		hash string
		want string
	}{
		{"XEP-0115 §5.2 simple", xep0115Simple, "sha-1", "QgayPKawpkPSDYmwT/WM94uAlu0="},
		{"XEP-0115 §5.3 complex", complexInfo, "sha-1", "q07IKJEyjvHSyhy//CH0CxmKi8w="},
		{"shuffled complex", shuffled, "sha-1", "q07IKJEyjvHSyhy//CH0CxmKi8w="},
		{"sha-256", xep0115Simple, "sha-256", b64(sha256Sum[:])},
		{"sha-512", xep0115Simple, "sha-512", b64(sha512Sum[:])},
		{"form type not hidden", visibleType, "sha-1", mustVer(t, withoutForm)},
		{"form without type", untyped, "sha-1", mustVer(t, withoutForm)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := disco.VerificationString(tc.info, tc.hash)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func mustVer(t *testing.T, i disco.Info) string {
	t.Helper()
	v, err := disco.VerificationString(i, "sha-1")
	require.NoError(t, err)
	return v
}

func TestVerificationStringDoesNotModifyInfo(t *testing.T) {
	i := mustParseInfo(t, xep0115Complex)
	before := mustParseInfo(t, xep0115Complex)
	i.Identities[0], i.Identities[1] = i.Identities[1], i.Identities[0]
	before.Identities[0], before.Identities[1] = before.Identities[1], before.Identities[0]
	_, err := disco.VerificationString(i, "sha-1")
	require.NoError(t, err)
	require.Equal(t, before, i)
}

func TestVerificationStringErrors(t *testing.T) {
	form := func(fields ...disco.Field) disco.Form { return disco.Form{Fields: fields} }
	formType := func(values ...string) disco.Field {
		return disco.Field{Var: "FORM_TYPE", Type: "hidden", Values: values}
	}
	client := info.Identity{Category: "client", Type: "pc"}
	for _, tc := range []struct {
		name string
		info disco.Info
		hash string
		want error
	}{
		{"md5", xep0115Simple, "md5", disco.ErrUnsupportedHash},
		{"no hash (legacy)", xep0115Simple, "", disco.ErrUnsupportedHash},
		{"upper case name", xep0115Simple, "SHA-1", disco.ErrUnsupportedHash},
		{"repeated identity", disco.Info{Identities: []info.Identity{client, client}}, "sha-1", disco.ErrIllFormed},
		{"identity repeated with another name", disco.Info{Identities: []info.Identity{
			{Category: "client", Type: "pc", Name: "a"}, {Category: "client", Type: "pc", Name: "b"},
		}}, "sha-1", disco.ErrIllFormed},
		{"repeated feature", disco.Info{Features: []string{"a", "b", "a"}}, "sha-1", disco.ErrIllFormed},
		{"repeated FORM_TYPE", disco.Info{Forms: []disco.Form{form(formType("t")), form(formType("t"))}}, "sha-1", disco.ErrIllFormed},
		{"repeated FORM_TYPE, one not hidden", disco.Info{Forms: []disco.Form{
			form(formType("t")), form(disco.Field{Var: "FORM_TYPE", Values: []string{"t"}}),
		}}, "sha-1", disco.ErrIllFormed},
		{"FORM_TYPE with differing values", disco.Info{Forms: []disco.Form{form(formType("t", "u"))}}, "sha-1", disco.ErrIllFormed},
		{"two FORM_TYPE fields", disco.Info{Forms: []disco.Form{form(formType("t"), formType("u"))}}, "sha-1", disco.ErrIllFormed},
		{"'<' in a feature", disco.Info{Features: []string{"urn:xmpp:mix:core:1<x"}}, "sha-1", disco.ErrIllFormed},
		{"'<' in an identity name", disco.Info{Identities: []info.Identity{{Category: "client", Type: "pc", Name: "a<b"}}}, "sha-1", disco.ErrIllFormed},
		{"'/' in an identity type", disco.Info{Identities: []info.Identity{{Category: "client", Type: "pc/x"}}}, "sha-1", disco.ErrIllFormed},
		{"'/' in an identity language", disco.Info{Identities: []info.Identity{{Category: "client", Type: "pc", Lang: "en/x"}}}, "sha-1", disco.ErrIllFormed},
		{"empty feature", disco.Info{Features: []string{""}}, "sha-1", disco.ErrIllFormed},
		{"empty FORM_TYPE", disco.Info{Forms: []disco.Form{form(formType())}}, "sha-1", disco.ErrIllFormed},
		{"FORM_TYPE that is a feature", disco.Info{Features: []string{"urn:xmpp:mix:core:1"}, Forms: []disco.Form{form(formType("urn:xmpp:mix:core:1"))}}, "sha-1", disco.ErrIllFormed},
		{"field name that is a feature", disco.Info{Features: []string{"urn:xmpp:mix:pam:2"}, Forms: []disco.Form{form(formType("t"), disco.Field{Var: "urn:xmpp:mix:pam:2"})}}, "sha-1", disco.ErrIllFormed},
		{"field without name", disco.Info{Forms: []disco.Form{form(formType("t"), disco.Field{Values: []string{"v"}})}}, "sha-1", disco.ErrIllFormed},
		{"repeated field name", disco.Info{Forms: []disco.Form{form(formType("t"), disco.Field{Var: "f", Values: []string{"a"}}, disco.Field{Var: "f", Values: []string{"b"}})}}, "sha-1", disco.ErrIllFormed},
		{"'<' in a form value", disco.Info{Forms: []disco.Form{form(formType("t"), disco.Field{Var: "f", Values: []string{"<"}})}}, "sha-1", disco.ErrIllFormed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := disco.VerificationString(tc.info, tc.hash)
			require.ErrorIs(t, err, tc.want)
		})
	}
}

// TestVerificationStringRepeatedFormTypeValue checks that a FORM_TYPE may
// repeat one value (XEP-0115 §5.4 step 3.5 forbids only differing values).
func TestVerificationStringRepeatedFormTypeValue(t *testing.T) {
	once := mustParseInfo(t, xep0115Complex)
	twice := mustParseInfo(t, xep0115Complex)
	twice.Forms[0].Fields[0].Values = []string{"urn:xmpp:dataforms:softwareinfo", "urn:xmpp:dataforms:softwareinfo"}
	require.Equal(t, mustVer(t, once), mustVer(t, twice))
}
