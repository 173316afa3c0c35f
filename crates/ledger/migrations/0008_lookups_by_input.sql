-- Stampings and drafts found by the hash of their original, whoever owns them.
--
-- The retention pass asks, for each original it may delete, whether any stamping or draft
-- still needs it (`originals::unneeded_condition`). `stampings_by_input` led with user_id, so
-- a lookup by hash alone could not use it: SQLite (which keeps no statistics here, so never
-- skip-scans) read the whole of `stampings` and of `drafts` once per original. Measured
-- (`cargo bench -p meterai-ledger --bench upkeep_bench`, BENCHMARKS.md) with 20,000
-- stampings of 10,000 owners: 2.5 s to check 1,000 originals and 17 s for one page of the
-- pass's search, against 25 ms and 28 ms through these indexes; with 50,000 stampings 5.9 s
-- and 134 s, against 16 ms and 73 ms. On one SQLite node new originals wait for that check.
-- PostgreSQL hashed its anti-joins (one scan per statement): 10x faster checks at 400,000.
--
-- The owner's own lookup by hash (re-uploading an original, `user_id = ? AND input_sha256 =
-- ?`) is served as well by the index in the other order, so stampings keep one index for both.
DROP INDEX stampings_by_input;
CREATE INDEX stampings_by_input ON stampings (input_sha256, user_id);
CREATE INDEX drafts_by_input ON drafts (input_sha256, created_at);
