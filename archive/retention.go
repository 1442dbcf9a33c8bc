package archive

import (
	"errors"
	"time"
)

// Retention is an archive retention policy, applied to each owner's archive
// separately. It bounds what one account can make the server keep (a flood
// of large messages to one user, issue 12's per-account quotas): the oldest
// records are dropped first. The zero value keeps everything.
//
// A store that honours a Retention applies it to an owner's archive every
// time it appends to that archive, in the same step: when Append returns,
// the owner's archive holds at most MaxRecords records and none whose Time
// is more than MaxAge before the store's clock. "Oldest" means smallest ID,
// which is archive order: the ids of IDGenerator grow with time. A record
// that the policy would drop at once (older than every record kept in a full
// archive, or past MaxAge) is not kept, and Append still returns nil, as for
// a record appended twice. MemStore honours a Retention given with
// WithRetention; archive/archivetest checks any store against it.
//
// An archive that receives nothing is not touched: records past MaxAge stay
// until the owner's next message (or a sweep the host runs, where a store
// offers one).
type Retention struct {
	// MaxRecords is the most records kept per owner; 0 means no limit.
	MaxRecords int
	// MaxAge is how long a record is kept after its Time; 0 means no limit.
	MaxAge time.Duration
}

// Validate reports a negative limit.
func (r Retention) Validate() error {
	if r.MaxRecords < 0 || r.MaxAge < 0 {
		return errors.New("archive: Retention limits must not be negative")
	}
	return nil
}

// Cutoff returns the oldest Time that r keeps at now, or the zero Time when
// r keeps records of any age.
func (r Retention) Cutoff(now time.Time) time.Time {
	if r.MaxAge <= 0 {
		return time.Time{}
	}
	return now.Add(-r.MaxAge)
}
