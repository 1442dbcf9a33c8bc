-- mixpam schema version 1: rosters, archives and blocklists.
-- Every key is text COLLATE "C" so that ORDER BY matches Go's byte order
-- (strings.Compare), whatever the database's default collation.

-- Roster version per user (XEP-0237); bumped in the same statement as the
-- item change, so versions strictly increase per owner.
CREATE TABLE roster_version (
	owner   text COLLATE "C" PRIMARY KEY,
	version bigint NOT NULL
);

CREATE TABLE roster_item (
	owner          text COLLATE "C" NOT NULL,
	contact        text COLLATE "C" NOT NULL, -- bare JID
	name           text NOT NULL,
	subscription   text NOT NULL,
	ask            boolean NOT NULL,
	groups         text[] NOT NULL,
	channel        boolean NOT NULL,
	participant_id text NOT NULL,
	PRIMARY KEY (owner, contact)
);

-- One row per archived message. id is the archive id (XEP-0359 stanza-id,
-- ordered by time as a string); time_ns is archive.Record.Time in Unix
-- nanoseconds, kept exactly.
CREATE TABLE archive (
	owner    text COLLATE "C" NOT NULL,
	id       text COLLATE "C" NOT NULL,
	with_jid text COLLATE "C" NOT NULL,
	time_ns  bigint NOT NULL,
	stanza   bytea NOT NULL,
	PRIMARY KEY (owner, id)
);
-- MAM queries with a "with" filter page by id within one conversation.
CREATE INDEX archive_owner_with_id ON archive (owner, with_jid, id);
-- start/end filters and retention by age.
CREATE INDEX archive_owner_time ON archive (owner, time_ns);

-- Records per owner, maintained with every append and deletion: the MAM
-- count of an unfiltered query and the retention by count read it instead
-- of counting the owner's rows.
CREATE TABLE archive_owner (
	owner   text COLLATE "C" PRIMARY KEY,
	records bigint NOT NULL CHECK (records >= 0)
);

-- Records per owner and conversation, maintained likewise: the MAM count
-- of a query filtered by "with" alone.
CREATE TABLE archive_with (
	owner    text COLLATE "C" NOT NULL,
	with_jid text COLLATE "C" NOT NULL,
	records  bigint NOT NULL CHECK (records >= 0),
	PRIMARY KEY (owner, with_jid)
);

-- Blocklists (XEP-0191), in the order the items were added.
CREATE TABLE block_item (
	owner text COLLATE "C" NOT NULL,
	item  text COLLATE "C" NOT NULL, -- canonical JID string
	seq   bigint GENERATED ALWAYS AS IDENTITY,
	PRIMARY KEY (owner, item)
);
CREATE INDEX block_item_owner_seq ON block_item (owner, seq);
