package archive

import (
	"context"
	"time"

	"mellium.im/xmpp/jid"
)

// Record is one archived message: a groupchat message from one of the
// owner's MIX channels, as pam.FanOut archives it (XEP-0405 §2.11).
// MAMHandler relies on an archive holding nothing else when it answers
// include-groupchat (XEP-0313 §4.1.4).
type Record struct {
	// ID is the archive id, unique within the owner's archive. It is also
	// the XEP-0359 stanza-id of the message and the XEP-0313 result id.
	ID string
	// With is the bare JID of the other party: for MIX messages, the channel.
	With jid.JID
	// Time is when the message was archived.
	Time time.Time
	// Stanza is the whole message as delivered, serialised as for
	// host.RawRouter.RouteRaw.
	Stanza []byte
}

// Query selects records of one owner's archive. Zero fields do not filter.
// Records are ordered by ID; With, Start, End, AfterID, BeforeID and IDs
// make the selection, within which After and Before pick a page as XEP-0059
// describes.
type Query struct {
	// With keeps only records whose With equals it (bare JID).
	With jid.JID
	// Start and End keep only records with Start <= Time <= End.
	Start, End time.Time
	// AfterID keeps only records with IDs greater than it (XEP-0313 §4.1.3
	// after-id). Unlike After it is part of the selection, so it counts in
	// Page.Count, and it does not set the direction of paging.
	AfterID string
	// BeforeID keeps only records with IDs smaller than it (XEP-0313 §4.1.3
	// before-id); like AfterID, part of the selection.
	BeforeID string
	// IDs, when not empty, keeps only the records with one of these IDs
	// (XEP-0313 §4.1.3 ids, single-item retrieval). Repeated IDs count
	// once.
	IDs []string
	// After keeps only records after the one with this ID, and pages
	// forward: the first Max of them.
	After string
	// Before keeps only records before the one with this ID, and pages
	// backward: the last Max of them.
	Before string
	// Last pages backward from the end of the selection (XEP-0059 empty
	// <before/>): the last Max records. Ignored when Before is set.
	Last bool
	// Max is the most records to return. 0 returns none (count only).
	Max int
}

// Page is the result of a Query.
type Page struct {
	// Records are the page's records in archive (ID) order, also when paging
	// backward.
	Records []Record
	// Count is the number of records in the whole selection (With, Start,
	// End, AfterID, BeforeID, IDs), before After, Before and Max.
	Count int
	// Complete reports that the page reaches the end of the selection in the
	// direction of paging: forward, the last record; backward, the first.
	Complete bool
}

// Store is an archive of messages per owner (a bare JID). Implementations
// must be safe for concurrent use.
type Store interface {
	// Append adds rec to owner's archive. It is idempotent on rec.ID: when
	// the owner already has a record with that ID, Append changes nothing
	// and returns nil. Append must not keep rec.Stanza after it returns: the
	// caller may reuse that buffer (the fan-out does).
	Append(ctx context.Context, owner jid.JID, rec Record) error
	// Query returns the page of owner's archive that q selects. An After,
	// Before, AfterID or BeforeID, or one of IDs, that is not in the
	// owner's archive gives ErrNotFound (XEP-0313 §4.1.3, §4.3.2: "not
	// present in the archive"). One that is in the archive but outside the
	// selection (another With, before Start) still pages or bounds from
	// where it sorts: After keeps the selected records with greater IDs,
	// Before those with smaller IDs.
	Query(ctx context.Context, owner jid.JID, q Query) (Page, error)
}

// ErrNotFound is returned by Query for an ID of the query (After, Before,
// AfterID, BeforeID, IDs) it does not have (XEP-0313 item-not-found).
var ErrNotFound = constError("archive: no record with that id")

type constError string

func (e constError) Error() string { return string(e) }
