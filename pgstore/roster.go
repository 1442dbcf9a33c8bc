package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/roster"
)

// RosterStore is a roster.Store in the tables roster_item and
// roster_version. Each Put and Delete is one statement that changes the
// item and bumps the owner's version together; Items reads both in one
// snapshot. It is safe for concurrent use, also from several nodes.
type RosterStore struct {
	pool *pgxpool.Pool
}

// NewRosterStore returns a RosterStore on pool, whose database Migrate has
// brought to SchemaVersion.
func NewRosterStore(pool *pgxpool.Pool) *RosterStore {
	return &RosterStore{pool: pool}
}

const rosterColumns = `contact, name, subscription, ask, groups, channel, participant_id`

// Items implements roster.Store. Version and items come from one statement,
// so they always match.
func (s *RosterStore) Items(ctx context.Context, user jid.JID) ([]roster.Item, uint64, error) {
	rows, err := s.pool.Query(ctx, `SELECT v.version, i.name, i.subscription, i.ask, i.groups, i.channel, i.participant_id, i.contact
		FROM roster_version v LEFT JOIN roster_item i ON i.owner = v.owner
		WHERE v.owner = $1 ORDER BY i.contact`, user.Bare().String())
	if err != nil {
		return nil, 0, fmt.Errorf("pgstore: roster items: %w", err)
	}
	defer rows.Close()
	var (
		items []roster.Item
		ver   uint64
	)
	for rows.Next() {
		var (
			v       int64
			contact *string
			r       rosterRow
		)
		if err := rows.Scan(&v, &r.name, &r.subscription, &r.ask, &r.groups, &r.channel, &r.participantID, &contact); err != nil {
			return nil, 0, fmt.Errorf("pgstore: roster items: %w", err)
		}
		ver = uint64(v)
		if contact == nil {
			continue // a version without items: the roster was emptied
		}
		r.contact = *contact
		it, err := r.item()
		if err != nil {
			return nil, 0, err
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("pgstore: roster items: %w", err)
	}
	return items, ver, nil
}

// Item implements roster.Store.
func (s *RosterStore) Item(ctx context.Context, user, contact jid.JID) (roster.Item, error) {
	var r rosterRow
	err := s.pool.QueryRow(ctx, `SELECT `+rosterColumns+` FROM roster_item WHERE owner = $1 AND contact = $2`,
		user.Bare().String(), contact.Bare().String()).
		Scan(&r.contact, &r.name, &r.subscription, &r.ask, &r.groups, &r.channel, &r.participantID)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return roster.Item{}, roster.ErrNotFound
	case err != nil:
		return roster.Item{}, fmt.Errorf("pgstore: roster item: %w", err)
	}
	return r.item()
}

// Put implements roster.Store: one statement upserts the item and bumps the
// version, whose row lock orders concurrent writers of the same owner.
func (s *RosterStore) Put(ctx context.Context, user jid.JID, item roster.Item) (uint64, error) {
	groups := item.Groups
	if groups == nil {
		groups = []string{}
	}
	var v int64
	err := s.pool.QueryRow(ctx, `WITH ver AS (
			INSERT INTO roster_version AS rv (owner, version) VALUES ($1, 1)
			ON CONFLICT (owner) DO UPDATE SET version = rv.version + 1
			RETURNING version
		), item AS (
			INSERT INTO roster_item (owner, `+rosterColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (owner, contact) DO UPDATE SET name = excluded.name,
				subscription = excluded.subscription, ask = excluded.ask, groups = excluded.groups,
				channel = excluded.channel, participant_id = excluded.participant_id
		)
		SELECT version FROM ver`,
		user.Bare().String(), item.JID.Bare().String(), item.Name, string(item.Subscription), item.Ask,
		groups, item.Channel, item.ParticipantID).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("pgstore: roster put: %w", err)
	}
	return uint64(v), nil
}

// Delete implements roster.Store: one statement deletes the item and bumps
// the version only when there was an item.
func (s *RosterStore) Delete(ctx context.Context, user, contact jid.JID) (uint64, error) {
	owner := user.Bare().String()
	var v int64
	err := s.pool.QueryRow(ctx, `WITH gone AS (
			DELETE FROM roster_item WHERE owner = $1 AND contact = $2 RETURNING owner
		)
		INSERT INTO roster_version AS rv (owner, version) SELECT owner, 1 FROM gone
		ON CONFLICT (owner) DO UPDATE SET version = rv.version + 1
		RETURNING version`, owner, contact.Bare().String()).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		err = s.pool.QueryRow(ctx, `SELECT coalesce((SELECT version FROM roster_version WHERE owner = $1), 0)`, owner).Scan(&v)
		if err == nil {
			return uint64(v), roster.ErrNotFound
		}
	}
	if err != nil {
		return 0, fmt.Errorf("pgstore: roster delete: %w", err)
	}
	return uint64(v), nil
}

// rosterRow is a roster_item row as scanned.
type rosterRow struct {
	contact       string
	name          *string
	subscription  *string
	ask           *bool
	groups        []string
	channel       *bool
	participantID *string
}

func (r rosterRow) item() (roster.Item, error) {
	j, err := jid.Parse(r.contact)
	if err != nil {
		return roster.Item{}, fmt.Errorf("pgstore: roster item with an invalid JID %q: %w", r.contact, err)
	}
	it := roster.Item{JID: j, Groups: r.groups}
	if r.name != nil {
		it.Name = *r.name
	}
	if r.subscription != nil {
		it.Subscription = roster.Subscription(*r.subscription)
	}
	if r.ask != nil {
		it.Ask = *r.ask
	}
	if r.channel != nil {
		it.Channel = *r.channel
	}
	if r.participantID != nil {
		it.ParticipantID = *r.participantID
	}
	return it, nil
}
