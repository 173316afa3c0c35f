-- Ledger, serial registry, stock and users, for SQLite and PostgreSQL alike: `{{IDENTITY}}` is
-- replaced per backend by its auto-numbered primary key (see store.rs); everything else is
-- common SQL. Booleans are 0/1 BIGINTs and times are unix milliseconds so one set of queries
-- serves both.

CREATE TABLE accounts (
    id {{IDENTITY}},
    kind TEXT NOT NULL CHECK (kind IN ('issuer', 'stock', 'quota', 'consumed')),
    debits_must_not_exceed_credits BIGINT NOT NULL CHECK (debits_must_not_exceed_credits IN (0, 1)),
    debits_pending BIGINT NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
    debits_posted BIGINT NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
    credits_pending BIGINT NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
    credits_posted BIGINT NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
    created_at BIGINT NOT NULL,
    CHECK (debits_must_not_exceed_credits = 0 OR debits_pending + debits_posted <= credits_posted)
);

INSERT INTO accounts (id, kind, debits_must_not_exceed_credits, created_at) VALUES
    (1, 'issuer', 0, 0),
    (2, 'stock', 1, 0),
    (3, 'consumed', 0, 0);

CREATE TABLE users (
    id {{IDENTITY}},
    email TEXT NOT NULL UNIQUE,
    quota_account_id BIGINT NOT NULL UNIQUE REFERENCES accounts (id),
    created_at BIGINT NOT NULL
);

CREATE TABLE transfers (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('mint', 'grant', 'reserve', 'post', 'void')),
    debit_account_id BIGINT NOT NULL REFERENCES accounts (id),
    credit_account_id BIGINT NOT NULL REFERENCES accounts (id),
    amount BIGINT NOT NULL CHECK (amount > 0),
    pending_id TEXT NULL REFERENCES transfers (id),
    timeout_ms BIGINT NULL,
    reason TEXT NOT NULL,
    reference TEXT NOT NULL,
    doc_sha256 TEXT NULL,
    doc_type TEXT NULL,
    stamped_at BIGINT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX transfers_debit ON transfers (debit_account_id, created_at);
CREATE INDEX transfers_credit ON transfers (credit_account_id, created_at);
CREATE UNIQUE INDEX transfers_one_resolution ON transfers (pending_id) WHERE pending_id IS NOT NULL;

CREATE TABLE pending_transfers (
    transfer_id TEXT PRIMARY KEY REFERENCES transfers (id),
    expires_at BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'posted', 'voided', 'expired')),
    resolved_by TEXT NULL,
    resolved_at BIGINT NULL
);
CREATE INDEX pending_due ON pending_transfers (expires_at) WHERE status = 'pending';

CREATE TABLE serials (
    serial TEXT PRIMARY KEY,
    seq BIGINT NOT NULL UNIQUE,
    series TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('reserved', 'stamped', 'void')),
    owner_account_id BIGINT NOT NULL REFERENCES accounts (id),
    reserve_transfer_id TEXT NOT NULL UNIQUE REFERENCES transfers (id),
    doc_sha256 TEXT NULL,
    doc_type TEXT NULL,
    stamped_at BIGINT NULL,
    reserved_at BIGINT NOT NULL,
    resolved_at BIGINT NULL,
    CHECK (state <> 'stamped' OR (doc_sha256 IS NOT NULL AND doc_type IS NOT NULL AND stamped_at IS NOT NULL))
);

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('serial_seq', 0);

CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
