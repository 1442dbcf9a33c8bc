package disco

import (
	"cmp"
	"crypto"
	_ "crypto/sha1"   // registers crypto.SHA1
	_ "crypto/sha256" // registers crypto.SHA224, crypto.SHA256
	_ "crypto/sha512" // registers crypto.SHA384, crypto.SHA512
	"encoding/base64"
	"slices"
	"strings"

	"mellium.im/xmpp/disco/info"
)

const formType = "FORM_TYPE"

// hashFunc returns the hash function with the given name in the IANA "Hash
// Function Textual Names" registry that XEP-0115 §4 and §9.1 refer to. SHA-1
// is mandatory to implement; the SHA-2 family is supported too. MD2 and MD5
// are not: their verification strings are never trusted.
func hashFunc(name string) (crypto.Hash, bool) {
	switch name {
	case "sha-1":
		return crypto.SHA1, true
	case "sha-224":
		return crypto.SHA224, true
	case "sha-256":
		return crypto.SHA256, true
	case "sha-384":
		return crypto.SHA384, true
	case "sha-512":
		return crypto.SHA512, true
	}
	return 0, false
}

// VerificationString computes the XEP-0115 §5.1 verification string of i with
// the named hash function ("sha-1", "sha-224", "sha-256", "sha-384" or
// "sha-512"; names are the IANA ones and match exactly). It returns
// ErrUnsupportedHash for any other name and ErrIllFormed for a result that
// XEP-0115 §5.4 (steps 3.3–3.5) or XEP-0030 §3.1 calls ill-formed (two
// identities with the same category, type and xml:lang, a repeated feature or
// FORM_TYPE, a FORM_TYPE with differing values), or whose hash input would
// be ambiguous: '<' in a string that enters the hash, '/' in an identity's
// category, type or xml:lang (which '/' separates), an empty feature,
// FORM_TYPE or field name, a field name repeated in a form (XEP-0004 §3.2),
// or a FORM_TYPE or field name that is also one of the result's features
// (the §5.1 string cannot tell a feature from a form string). Forms without a FORM_TYPE field of type
// "hidden" are left out (§5.4 step 3.6). Strings are sorted by "i;octet"
// collation, which is Go's string order.
func VerificationString(i Info, hashName string) (string, error) {
	h, ok := hashFunc(hashName)
	if !ok {
		return "", ErrUnsupportedHash
	}
	s, err := verificationInput(i)
	if err != nil {
		return "", err
	}
	hash := h.New()
	hash.Write(s)
	return base64.StdEncoding.EncodeToString(hash.Sum(nil)), nil
}

// verificationInput builds the string S of XEP-0115 §5.1.
func verificationInput(i Info) ([]byte, error) {
	var s []byte
	ambiguous := false
	add := func(v string) {
		ambiguous = ambiguous || strings.IndexByte(v, '<') >= 0
		s = append(s, v...)
		s = append(s, '<')
	}

	idents := slices.Clone(i.Identities)
	slices.SortFunc(idents, compareIdentities)
	for k, id := range idents {
		if k > 0 && compareIdentities(idents[k-1], id) == 0 ||
			strings.ContainsRune(id.Category+id.Type+id.Lang, '/') {
			return nil, ErrIllFormed
		}
		add(id.Category + "/" + id.Type + "/" + id.Lang + "/" + id.Name)
	}

	features := slices.Clone(i.Features)
	slices.Sort(features)
	if len(slices.Compact(slices.Clone(features))) != len(features) {
		return nil, ErrIllFormed
	}
	for _, f := range features {
		if f == "" {
			return nil, ErrIllFormed
		}
		add(f)
	}

	forms, err := typedForms(i.Forms)
	if err != nil {
		return nil, err
	}
	for _, f := range forms {
		if _, found := slices.BinarySearch(features, f.typ); found || f.typ == "" {
			return nil, ErrIllFormed
		}
		add(f.typ)
		fields := slices.Clone(f.fields)
		slices.SortStableFunc(fields, func(a, b Field) int { return cmp.Compare(a.Var, b.Var) })
		for k, field := range fields {
			_, isFeature := slices.BinarySearch(features, field.Var)
			if isFeature || field.Var == "" || k > 0 && fields[k-1].Var == field.Var {
				return nil, ErrIllFormed
			}
			add(field.Var)
			values := slices.Clone(field.Values)
			slices.Sort(values)
			for _, v := range values {
				add(v)
			}
		}
	}
	if ambiguous {
		return nil, ErrIllFormed
	}
	return s, nil
}

// compareIdentities orders identities by category, type and xml:lang
// (XEP-0115 §5.1 step 2). Two identities that compare equal make a result
// ill-formed: XEP-0030 §3.1 forbids the same category, type and xml:lang with
// different names, and XEP-0115 §5.4 step 3.3 forbids exact repeats.
func compareIdentities(a, b info.Identity) int {
	return cmp.Or(
		strings.Compare(a.Category, b.Category),
		strings.Compare(a.Type, b.Type),
		strings.Compare(a.Lang, b.Lang),
	)
}

// typedForm is a form that enters the verification string: its FORM_TYPE and
// its other fields.
type typedForm struct {
	typ    string
	fields []Field
}

// typedForms returns the forms that enter the verification string, sorted by
// FORM_TYPE. A repeated FORM_TYPE, a FORM_TYPE field with differing values
// or a form with more than one FORM_TYPE field makes the result ill-formed
// (§5.4 step 3.5); a form whose FORM_TYPE field is missing or not hidden is
// left out (§5.4 step 3.6).
func typedForms(forms []Form) ([]typedForm, error) {
	var out []typedForm
	seen := make(map[string]bool, len(forms))
	for _, f := range forms {
		var typ *Field
		var rest []Field
		for k := range f.Fields {
			field := &f.Fields[k]
			if field.Var != formType {
				rest = append(rest, *field)
				continue
			}
			if typ != nil {
				return nil, ErrIllFormed
			}
			typ = field
		}
		if typ == nil {
			continue
		}
		v, ok := singleValue(typ.Values)
		if !ok || seen[v] {
			return nil, ErrIllFormed
		}
		seen[v] = true
		if typ.Type != "hidden" {
			continue
		}
		out = append(out, typedForm{typ: v, fields: rest})
	}
	slices.SortFunc(out, func(a, b typedForm) int { return strings.Compare(a.typ, b.typ) })
	return out, nil
}

// singleValue returns the value of a FORM_TYPE field, which may repeat but
// not differ.
func singleValue(values []string) (string, bool) {
	if len(values) == 0 {
		return "", true
	}
	for _, v := range values[1:] {
		if v != values[0] {
			return "", false
		}
	}
	return values[0], true
}
