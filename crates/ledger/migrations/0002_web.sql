-- The web service's records: integrator API keys and stampings (one per Idempotency-Key).
-- Same conventions as 0001: `{{IDENTITY}}` per backend, booleans as 0/1, times in unix ms,
-- hashes as 64 lowercase hex digits.

CREATE TABLE api_keys (
    id {{IDENTITY}},
    user_id BIGINT NOT NULL REFERENCES users (id),
    key_sha256 TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT NULL
);

-- A stamping's id is the id of its reservation transfer, so the ledger and the stamping share
-- one key. The stamped tail (a few KB) is kept forever; the original's bytes live in a blob
-- file named by its hash.
CREATE TABLE stampings (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    idempotency_key TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('processing', 'stamped', 'failed')),
    file_name TEXT NOT NULL,
    input_sha256 TEXT NOT NULL,
    input_bytes BIGINT NOT NULL,
    page BIGINT NOT NULL,
    doc_type TEXT NOT NULL,
    doc_number TEXT NOT NULL,
    doc_date TEXT NOT NULL,
    serial TEXT NULL,
    doc_sha256 TEXT NULL,
    tail_hex TEXT NULL,
    error_code TEXT NULL,
    error_message TEXT NULL,
    quota_returned BIGINT NOT NULL DEFAULT 0 CHECK (quota_returned IN (0, 1)),
    created_at BIGINT NOT NULL,
    finished_at BIGINT NULL,
    UNIQUE (user_id, idempotency_key),
    CHECK (status <> 'stamped' OR (serial IS NOT NULL AND doc_sha256 IS NOT NULL AND tail_hex IS NOT NULL))
);
CREATE INDEX stampings_by_user ON stampings (user_id, created_at);
