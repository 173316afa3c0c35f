-- Balance changes of the accounts no limit applies to (issuer, consumed), kept in stripes.
--
-- Every batch moves the consumed account. Updated in place, its row stays locked from the
-- update to the commit, so on PostgreSQL the commits of concurrent writers (and nodes) queue
-- behind each other on that one row. A PostgreSQL writer instead adds its changes to its own
-- stripe's row here (an upsert); an account's balance is its row in `accounts` plus the sum of
-- its stripes, which `account_balances` gives. No limit is checked against these accounts, so
-- nothing needs their exact balance under a lock. A stripe's own columns can go negative (a
-- reservation voided by another writer than the one that made it); only the sums are balances.
-- SQLite's single writer keeps updating `accounts` in place and writes no stripes.
CREATE TABLE account_deltas (
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    stripe BIGINT NOT NULL,
    debits_pending BIGINT NOT NULL,
    debits_posted BIGINT NOT NULL,
    credits_pending BIGINT NOT NULL,
    credits_posted BIGINT NOT NULL,
    PRIMARY KEY (account_id, stripe)
);
CREATE VIEW account_balances AS
    SELECT a.id, a.kind, a.debits_must_not_exceed_credits,
           a.debits_pending + CAST(COALESCE(d.debits_pending, 0) AS BIGINT) AS debits_pending,
           a.debits_posted + CAST(COALESCE(d.debits_posted, 0) AS BIGINT) AS debits_posted,
           a.credits_pending + CAST(COALESCE(d.credits_pending, 0) AS BIGINT) AS credits_pending,
           a.credits_posted + CAST(COALESCE(d.credits_posted, 0) AS BIGINT) AS credits_posted
    FROM accounts a
    LEFT JOIN (SELECT account_id, SUM(debits_pending) AS debits_pending, SUM(debits_posted) AS debits_posted,
                      SUM(credits_pending) AS credits_pending, SUM(credits_posted) AS credits_posted
               FROM account_deltas GROUP BY account_id) d ON d.account_id = a.id;
