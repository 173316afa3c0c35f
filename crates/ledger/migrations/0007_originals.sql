-- Originals of stamped documents (and portal drafts) kept in the database, named by their
-- SHA-256 (lowercase hex) so one upload is kept once however many stampings use it.
--
-- Used on PostgreSQL, where several nodes share the database: any node can then serve the
-- download of a stamping another node made, and no node keeps state of its own. A file per
-- original also cost an inode allocation, two directory operations and an fsync per stamping,
-- the largest share of the server's CPU under load. On SQLite (one node) originals stay files
-- in the data directory and this table stays empty.
--
-- The bytes are PDFs, mostly compressed streams already: stored as they are (no TOAST
-- compression, which would spend CPU to win little).
CREATE TABLE originals (
    sha256 TEXT PRIMARY KEY,
    bytes {{BYTES}} NOT NULL,
    kept_at BIGINT NOT NULL
);
-- postgres: ALTER TABLE originals ALTER COLUMN bytes SET STORAGE EXTERNAL;
