-- Serial numbers keyed by their sequence number instead of their text.
--
-- An SN is the keyed permutation of its sequence number, so SNs issued one after the other are
-- scattered over the whole key space: an index on the SN text took one random page per
-- reservation, and writing those pages back bounded the SQLite writer. The sequence number is
-- recovered from an SN with the registry's key (`Serial::sequence`), so lookups go by `seq`
-- (and check the text), and inserts append. The text stays unique by construction (a
-- permutation of unique numbers); the audit re-derives every SN from its sequence number.
-- `{{INT64_PRIMARY_KEY}}` is SQLite's rowid (no second B-tree) or PostgreSQL's BIGINT key.
CREATE TABLE serials_by_seq (
    seq {{INT64_PRIMARY_KEY}},
    serial TEXT NOT NULL,
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
INSERT INTO serials_by_seq (seq, serial, series, state, owner_account_id, reserve_transfer_id, doc_sha256, doc_type,
                            stamped_at, reserved_at, resolved_at)
    SELECT seq, serial, series, state, owner_account_id, reserve_transfer_id, doc_sha256, doc_type,
           stamped_at, reserved_at, resolved_at
    FROM serials;
DROP TABLE serials;
ALTER TABLE serials_by_seq RENAME TO serials;
