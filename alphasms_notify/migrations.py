"""The store's schema as numbered migrations, applied in order and recorded in ``schema_migrations``.

Each migration is SQL in the subset SQLite and PostgreSQL share (BIGINT,
DOUBLE PRECISION, TEXT, ``ON CONFLICT``), so one list serves every engine
and a store says which version it is at (``alphasms store status``); what
only PostgreSQL has (a table's storage parameters) is a migration's
``postgresql`` part, which SQLite stores record as applied without it. A
migration is applied in one transaction with its record, so a crash leaves
a store at the version before or after it, never between. Never edit a
migration that has shipped: add the next one.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Migration", "MIGRATIONS", "LATEST", "statements"]


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str
    postgresql: str = ""  # run after ``sql`` on PostgreSQL only


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "messages, replies, verification codes", """
CREATE TABLE IF NOT EXISTS messages (
    id BIGINT PRIMARY KEY,
    type TEXT NOT NULL,
    phone BIGINT NOT NULL,
    text TEXT,
    source TEXT NOT NULL,
    chat_id BIGINT,
    anchor_id BIGINT,
    status TEXT,
    status_type TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION,
    done INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_active ON messages (done, created_at);
CREATE TABLE IF NOT EXISTS replies (
    message_id BIGINT NOT NULL,
    seq INTEGER NOT NULL,
    datetime TEXT NOT NULL,
    text TEXT,
    media_url TEXT,
    media_filename TEXT,
    media_filesize BIGINT,
    hooked INTEGER NOT NULL DEFAULT 0,
    forwarded INTEGER NOT NULL DEFAULT 0,
    forwarded_chat_id BIGINT,
    forwarded_message_id BIGINT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    inflight INTEGER NOT NULL DEFAULT 0,
    received_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (message_id, seq)
);
CREATE INDEX IF NOT EXISTS replies_forwarded ON replies (forwarded_chat_id, forwarded_message_id);
CREATE TABLE IF NOT EXISTS verifications (
    phone BIGINT PRIMARY KEY,
    code_hash TEXT NOT NULL,
    salt TEXT NOT NULL,
    via TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS verification_sends (
    phone BIGINT NOT NULL,
    at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS verification_sends_phone ON verification_sends (phone, at);
"""),
    Migration(2, "conversation topics and contacts", """
ALTER TABLE messages ADD COLUMN thread_id BIGINT;
ALTER TABLE messages ADD COLUMN notice_chat_id BIGINT;
ALTER TABLE messages ADD COLUMN notice_id BIGINT;
ALTER TABLE messages ADD COLUMN notice_thread_id BIGINT;
ALTER TABLE replies ADD COLUMN forwarded_thread_id BIGINT;
CREATE TABLE topics (
    chat_id BIGINT NOT NULL,
    phone BIGINT NOT NULL,
    thread_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    closed INTEGER NOT NULL DEFAULT 0,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (chat_id, phone)
);
CREATE UNIQUE INDEX topics_thread ON topics (chat_id, thread_id);
CREATE TABLE contacts (
    phone BIGINT PRIMARY KEY,
    name TEXT,
    fields TEXT NOT NULL DEFAULT '{}',
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""),
    Migration(3, "leases for shared work, sends waiting for a Confirm, Telegram updates handled", """
CREATE TABLE leases (
    kind TEXT NOT NULL,
    key BIGINT NOT NULL,
    owner TEXT NOT NULL,
    until DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE TABLE pending_sends (
    id TEXT PRIMARY KEY,
    payload TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
);
CREATE TABLE updates_seen (
    bot_id BIGINT NOT NULL,
    update_id BIGINT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (bot_id, update_id)
);
CREATE INDEX replies_unforwarded ON replies (forwarded, message_id);
CREATE INDEX messages_unnoticed ON messages (notice_id, created_at);
CREATE INDEX messages_due ON messages (done, created_at, id);
"""),
    Migration(4, "verification limits per caller and in all, canceled codes", """
ALTER TABLE verification_sends ADD COLUMN caller TEXT;
CREATE INDEX verification_sends_at ON verification_sends (at);
CREATE INDEX verification_sends_caller ON verification_sends (caller, at);
ALTER TABLE verifications ADD COLUMN canceled_at DOUBLE PRECISION;
CREATE TABLE verification_checks (
    caller TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL
);
CREATE INDEX verification_checks_caller ON verification_checks (caller, at);
"""),
    Migration(5, "campaigns: the plan and each recipient's state", """
CREATE TABLE campaigns (
    name TEXT PRIMARY KEY,
    created_at DOUBLE PRECISION NOT NULL,
    channel TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    start_at DOUBLE PRECISION,
    until_at DOUBLE PRECISION,
    daily_window TEXT,
    tz TEXT NOT NULL,
    rate INTEGER,
    total INTEGER NOT NULL
);
CREATE TABLE campaign_recipients (
    campaign TEXT NOT NULL,
    seq INTEGER NOT NULL,
    id BIGINT NOT NULL,
    phone BIGINT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    error TEXT,
    owner TEXT,
    lease_until DOUBLE PRECISION,
    tried INTEGER NOT NULL DEFAULT 0,
    done_at DOUBLE PRECISION,
    PRIMARY KEY (campaign, seq)
);
CREATE INDEX campaign_recipients_todo ON campaign_recipients (campaign, state, seq);
CREATE TABLE campaign_sends (
    campaign TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    n INTEGER NOT NULL
);
CREATE INDEX campaign_sends_at ON campaign_sends (campaign, at);
"""),
    Migration(6, "the bot's progress messages of campaigns", """
CREATE TABLE campaign_posts (
    campaign TEXT NOT NULL,
    chat_id BIGINT NOT NULL,
    thread_id BIGINT,
    message_id BIGINT NOT NULL,
    shown TEXT,
    state TEXT,
    PRIMARY KEY (campaign, chat_id)
);
"""),
    Migration(7, "opt-outs: who must not get marketing messages, or any", """
CREATE TABLE optouts (
    phone BIGINT PRIMARY KEY,
    scope TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    reason TEXT NOT NULL,
    note TEXT,
    confirm_id BIGINT,
    confirmed_at DOUBLE PRECISION
);
CREATE TABLE optouts_version (
    id INTEGER PRIMARY KEY,
    v BIGINT NOT NULL
);
INSERT INTO optouts_version (id, v) VALUES (1, 0);
"""),
    Migration(8, "SMS sent with the provider's unsubscribe link are followed for replies as Viber is", """
ALTER TABLE messages ADD COLUMN follow_replies INTEGER NOT NULL DEFAULT 0;
"""),
    Migration(9, "the operators' desk: snippets, automatic answers outside office hours", """
CREATE TABLE snippets (
    name TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    created_by TEXT,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE auto_replies (
    phone BIGINT NOT NULL,
    period TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (phone, period)
);
"""),
    Migration(10, "answers from a topic show their delivery as reactions on the operator's message", """
ALTER TABLE messages ADD COLUMN react INTEGER NOT NULL DEFAULT 0;
"""),
    Migration(11, "who has which conversation: claims on topics", """
CREATE TABLE claims (
    chat_id BIGINT NOT NULL,
    phone BIGINT NOT NULL,
    operator_id BIGINT NOT NULL,
    operator_name TEXT NOT NULL,
    until DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (chat_id, phone)
);
"""),
    Migration(12, "one index less to keep up on every status update: messages_due covers messages_active", """
DROP INDEX IF EXISTS messages_active;
"""),
    Migration(13, "a campaign's messages stored once per distinct text, not once per recipient", """
CREATE TABLE campaign_payloads (
    campaign TEXT NOT NULL,
    pid INTEGER NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (campaign, pid)
);
ALTER TABLE campaign_recipients ADD COLUMN pid INTEGER;
"""),
    Migration(14, "a campaign's claim marks its rows with the runner only: the state moves once, when settled", """
CREATE TABLE campaign_holders (
    campaign TEXT NOT NULL,
    owner TEXT NOT NULL,
    until DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (campaign, owner)
);
INSERT INTO campaign_holders (campaign, owner, until)
    SELECT campaign, owner, COALESCE(MAX(lease_until), 0) FROM campaign_recipients
    WHERE state = 'sending' AND owner IS NOT NULL GROUP BY campaign, owner;
DROP INDEX IF EXISTS campaign_recipients_todo;
CREATE INDEX campaign_recipients_unknown ON campaign_recipients (campaign, seq) WHERE state = 'unknown';
"""),
    # A status update or a lease renewed writes a new version of its row. On a full page the new version
    # goes to another page and every index of the table gets an entry for it; with room on the page it
    # stays there and no index is touched (a HOT update). Every tracked message is updated a few times and
    # its lease every poll cycle, so half of each new page is left for them (a cycle over 100,000 messages:
    # status updates 0.67 -> 0.43 s, lease renewals 0.64 -> 0.38 s, measured). Pages written before keep
    # theirs until the table is rewritten (VACUUM FULL).
    Migration(15, "PostgreSQL: room on each page of messages and leases for their updates (no index touched)",
              "", """
ALTER TABLE messages SET (fillfactor = 50);
ALTER TABLE leases SET (fillfactor = 50);
"""),
)

LATEST = MIGRATIONS[-1].version


def statements(sql: str) -> list[str]:
    """One migration's statements (none of ours has a ``;`` inside a literal)."""
    return [s.strip() for s in sql.split(";") if s.strip()]
