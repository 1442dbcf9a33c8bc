package pgstore

import (
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/archive"
)

// The statements whose plans the tests check.
const (
	ExpireSQL = expireSQL
	TrimSQL   = trimSQL
)

// ArchiveQuerySQL returns the statements of Query(owner, q) that read the
// archive: the count and the page, each with its arguments.
func ArchiveQuerySQL(owner jid.JID, q archive.Query) (countSQL string, countArgs []any, pageSQL string, pageArgs []any) {
	st := newQueryStatements(owner, q)
	return st.count.sql, st.count.args, st.page.sql, st.page.args
}
