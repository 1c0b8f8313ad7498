-- Frontdesk schema, version 1. Times are UTC unix nanoseconds (INTEGER);
-- NULL where a time is not set. Optional references are NULL, never 0.

-- The ledger of accepted raw messages (DESIGN.md invariant 1).
CREATE TABLE inbound (
	id          INTEGER PRIMARY KEY,
	channel     TEXT    NOT NULL,
	source      TEXT    NOT NULL,
	source_key  TEXT    NOT NULL UNIQUE,  -- invariant 2: one row per source message
	blob        TEXT    NOT NULL,         -- sha256 hex of the raw bytes
	size        INTEGER NOT NULL,
	intent      TEXT    NOT NULL DEFAULT '',
	queue       TEXT    NOT NULL DEFAULT '',
	received_at INTEGER NOT NULL,
	status      TEXT    NOT NULL,
	fail_reason TEXT    NOT NULL DEFAULT '',
	ack_done    INTEGER NOT NULL DEFAULT 0,
	route_done  INTEGER NOT NULL DEFAULT 0,
	case_id     INTEGER REFERENCES cases (id),
	order_id    INTEGER REFERENCES orders (id),
	automated   TEXT    NOT NULL DEFAULT '',
	updated_at  INTEGER NOT NULL
) STRICT;
-- The sweep's index holds only rows in flight; keyed by id so that the
-- many updates of updated_at leave it alone.
CREATE INDEX inbound_unfinished ON inbound (id) WHERE status NOT IN ('done', 'failed');
CREATE INDEX inbound_failed ON inbound (updated_at, id) WHERE status = 'failed';
CREATE INDEX inbound_blob ON inbound (blob);

-- The normalised message of an inbound row, as message.Message JSON, with the
-- columns searched on.
CREATE TABLE normalised (
	inbound_id INTEGER PRIMARY KEY REFERENCES inbound (id),
	message_id TEXT    NOT NULL DEFAULT '',
	from_addr  TEXT    NOT NULL DEFAULT '',
	subject    TEXT    NOT NULL DEFAULT '',
	body       TEXT    NOT NULL,
	saved_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX normalised_message_id ON normalised (message_id);
CREATE INDEX normalised_from ON normalised (from_addr);

CREATE TABLE classification (
	inbound_id INTEGER PRIMARY KEY REFERENCES inbound (id),
	intent     TEXT    NOT NULL,
	category   TEXT    NOT NULL,
	priority   TEXT    NOT NULL,
	queue      TEXT    NOT NULL,
	rule       TEXT    NOT NULL,
	saved_at   INTEGER NOT NULL
) STRICT;

-- Cases and orders; the number is derived from the id (C-%06d, O-%06d).
CREATE TABLE cases (
	id         INTEGER PRIMARY KEY,
	kind       TEXT    NOT NULL,
	category   TEXT    NOT NULL,
	priority   TEXT    NOT NULL,
	status     TEXT    NOT NULL,
	queue      TEXT    NOT NULL,
	channel    TEXT    NOT NULL,
	customer   TEXT    NOT NULL,
	subject    TEXT    NOT NULL,
	inbound_id INTEGER NOT NULL UNIQUE REFERENCES inbound (id),
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX cases_customer ON cases (customer);

CREATE TABLE orders (
	id         INTEGER PRIMARY KEY,
	status     TEXT    NOT NULL,
	priority   TEXT    NOT NULL,
	queue      TEXT    NOT NULL,
	channel    TEXT    NOT NULL,
	customer   TEXT    NOT NULL,
	subject    TEXT    NOT NULL,
	inbound_id INTEGER NOT NULL UNIQUE REFERENCES inbound (id),
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX orders_customer ON orders (customer);

-- Every e-mail we send; (inbound_id, kind) and message_id are unique.
CREATE TABLE outbound (
	id         INTEGER PRIMARY KEY,
	inbound_id INTEGER REFERENCES inbound (id),
	kind       TEXT    NOT NULL,
	case_id    INTEGER REFERENCES cases (id),
	order_id   INTEGER REFERENCES orders (id),
	message_id TEXT    NOT NULL UNIQUE,
	recipient  TEXT    NOT NULL,
	rcpt_key   TEXT    NOT NULL,          -- lower-case recipient, for the caps
	subject    TEXT    NOT NULL,
	template   TEXT    NOT NULL,
	state      TEXT    NOT NULL,
	reason     TEXT    NOT NULL DEFAULT '',
	attempts   INTEGER NOT NULL DEFAULT 0,
	last_error TEXT    NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	sent_at    INTEGER,
	UNIQUE (inbound_id, kind)
) STRICT;
-- The loop caps count pending and sent mail by recipient or case within a
-- time window (mail counts from its sending, or from its creation while
-- pending); suppressed mail, however much, is skipped by the index.
CREATE INDEX outbound_rcpt ON outbound (rcpt_key, state, coalesce(sent_at, created_at));
CREATE INDEX outbound_case ON outbound (case_id, state, coalesce(sent_at, created_at)) WHERE case_id IS NOT NULL;
CREATE INDEX outbound_order ON outbound (order_id, state, coalesce(sent_at, created_at)) WHERE order_id IS NOT NULL;

-- The thread of a case or order: inbound messages (one row per inbound id)
-- and outbound messages once sent (one row per outbound id).
CREATE TABLE thread_messages (
	id          INTEGER PRIMARY KEY,
	case_id     INTEGER REFERENCES cases (id),
	order_id    INTEGER REFERENCES orders (id),
	inbound_id  INTEGER REFERENCES inbound (id),
	outbound_id INTEGER REFERENCES outbound (id),
	direction   TEXT    NOT NULL,
	message_id  TEXT    NOT NULL DEFAULT '',
	from_addr   TEXT    NOT NULL DEFAULT '',
	subject     TEXT    NOT NULL DEFAULT '',
	flag        TEXT    NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,
	CHECK ((case_id IS NULL) <> (order_id IS NULL))
) STRICT;
-- Partial indexes leave the NULLs out: fewer pages written per commit.
CREATE UNIQUE INDEX thread_inbound ON thread_messages (inbound_id) WHERE inbound_id IS NOT NULL;
CREATE UNIQUE INDEX thread_outbound ON thread_messages (outbound_id) WHERE outbound_id IS NOT NULL;
CREATE INDEX thread_case ON thread_messages (case_id, created_at) WHERE case_id IS NOT NULL;
CREATE INDEX thread_order ON thread_messages (order_id, created_at) WHERE order_id IS NOT NULL;
CREATE INDEX thread_message_id ON thread_messages (message_id) WHERE message_id <> '';

-- Addresses that hard-bounced our mail (invariant 3, L3).
CREATE TABLE failing_addresses (
	addr      TEXT    PRIMARY KEY,        -- lower case
	reason    TEXT    NOT NULL,
	marked_at INTEGER NOT NULL,
	count     INTEGER NOT NULL DEFAULT 1
) STRICT;

-- CSR work. due_at is 9223372036854775807 when the item has no due time, so
-- that items with one sort first. At most one open or claimed item per case
-- and per order.
CREATE TABLE work_items (
	id            INTEGER PRIMARY KEY,
	queue         TEXT    NOT NULL,
	case_id       INTEGER REFERENCES cases (id),
	order_id      INTEGER REFERENCES orders (id),
	inbound_id    INTEGER UNIQUE REFERENCES inbound (id),
	priority      TEXT    NOT NULL,
	prank         INTEGER NOT NULL,
	due_at        INTEGER NOT NULL,
	state         TEXT    NOT NULL,
	reason        TEXT    NOT NULL DEFAULT '',
	lease_owner   TEXT    NOT NULL DEFAULT '',
	lease_expires INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL,
	completed_at  INTEGER
) STRICT;
CREATE UNIQUE INDEX work_live_case ON work_items (case_id) WHERE state <> 'done' AND case_id IS NOT NULL;
CREATE UNIQUE INDEX work_live_order ON work_items (order_id) WHERE state <> 'done' AND order_id IS NOT NULL;
CREATE INDEX work_claim ON work_items (queue, prank, due_at, created_at, id) WHERE state <> 'done';
CREATE INDEX work_done ON work_items (queue, completed_at) WHERE state = 'done';

CREATE TABLE checkpoints (
	source      TEXT    PRIMARY KEY,
	uidvalidity INTEGER NOT NULL,
	last_uid    INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
) STRICT;

-- The audit trail.
CREATE TABLE events (
	id         INTEGER PRIMARY KEY,
	at         INTEGER NOT NULL,
	actor      TEXT    NOT NULL,
	kind       TEXT    NOT NULL,
	case_id    INTEGER,
	order_id   INTEGER,
	inbound_id INTEGER,
	detail     TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX events_case ON events (case_id, at) WHERE case_id IS NOT NULL;
CREATE INDEX events_order ON events (order_id, at) WHERE order_id IS NOT NULL;
CREATE INDEX events_inbound ON events (inbound_id, at) WHERE inbound_id IS NOT NULL;

-- One row that Ping rewrites to prove the database takes writes.
CREATE TABLE health (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	at INTEGER NOT NULL
) STRICT;
