-- Stampings and drafts found by the hash of their original, whoever owns them.
--
-- The retention pass asks, for each original it may delete, whether any stamping or draft
-- still needs it (`originals::unneeded_condition`). `stampings_by_input` led with user_id, so
-- a lookup by hash alone could not use it: SQLite (which keeps no statistics here, so never
-- skip-scans) read the whole of `stampings` and of `drafts` once per original. Measured
-- (`cargo bench -p meterai-ledger --bench upkeep_bench`, BENCHMARKS.md, stampings holding
-- their tails): 4.6 s to check 1,000 originals and 20.6 s for one page of the pass's search
-- at 10,000 stampings, 9.5 s and 369 s at 20,000, against 46 ms and 23-43 ms with 0008-0010.
-- On one SQLite node new originals wait for that check. PostgreSQL hashed its anti-joins (one
-- scan per statement): 13x faster checks at 400,000 stampings.
--
-- The owner's own lookup by hash (re-uploading an original, `user_id = ? AND input_sha256 =
-- ?`) is served as well by the index in the other order, so stampings keep one index for both.
DROP INDEX stampings_by_input;
CREATE INDEX stampings_by_input ON stampings (input_sha256, user_id);
CREATE INDEX drafts_by_input ON drafts (input_sha256, created_at);
