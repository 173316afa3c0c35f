//! The PostgreSQL side of group commit: a fixed, small number of round trips per batch whatever
//! its size, every value a bind parameter, and no transaction held open across them.
//!
//! Each step is one constant statement that takes whole columns as arrays (`= ANY($1)` to
//! read, `UNNEST($1::text[], ..)` to write), so statements are prepared once per connection and
//! a batch of 2,000 costs the round trips of a batch of 1: read the transfers with their
//! reservations and the accounts they move (one statement), read the stampings'
//! Idempotency-Keys (web stampings only), then one statement that writes every table
//! (data-modifying CTEs) and commits by itself.
//!
//! Optimistic rather than locking: the reads lock nothing, and every write that depends on
//! what was read is conditional on it still holding (see [`commit`]). The write statement
//! counts the rows its writes matched and raises if any is missing, which undoes the whole
//! statement; the writer then rolls the batch back and runs it again from fresh reads. Against
//! reading under `FOR UPDATE` in an explicit transaction this saves the BEGIN and COMMIT round
//! trips and lets batches that touch the same accounts overlap until they write (measured in
//! BENCHMARKS.md, ledger run 6).
//!
//! Most batches skip the reads: the process's writers remember the accounts and pending
//! reservations their batches saw ([`crate::read_memo`]), and a batch whose rows are all
//! remembered is applied to them and written at once, one round trip in all. The memo is only
//! a guess; the conditional write checks it like any read that another writer overtook.
//!
//! Several writers run batches at once (`crate::writer::POSTGRES_WRITERS`, and other nodes), so
//! what every batch would write is spread out: serial numbers come from a block the writer
//! took from the shared counter in a statement of its own ([`SerialBlock`]), and the accounts
//! without limits (issuer, consumed), which every batch moves, are changed in the writer's own
//! stripe of them (migration 0005). Batches then contend only on the rows they share: the same
//! reservation, or the same limited account (a user's quota, the stock), whose row lock a
//! write statement holds from its update to its end.

use std::collections::HashMap;
use std::sync::LazyLock;

use sqlx::postgres::PgArguments;
use sqlx::{Arguments, PgConnection, PgPool, Row};

use crate::batch::{
    BatchContext, Done, ENTRY_COLUMNS, Entry, Op, Read, Ty, Wanted, WriteSet, apply_ops, entry_from_row, entry_select,
    expected_rows, wanted,
};
use crate::error::{LedgerError, StoreError};
use crate::read_memo::ReadMemo;
use crate::rows::{ACCOUNT_COLUMNS, ACCOUNT_COLUMN_COUNT, Cells, ColumnsFrom, Val, balance_from_row, transfer_id_from};
use crate::types::{Balance, TransferId};

/// How the message [`EXPECT_ROWS_FUNCTION`] raises begins: a macro so that the function's
/// text (built by `concat!`, which takes only literals) and [`lost_race`] share one spelling.
macro_rules! short_write_message {
    () => {
        "short write: "
    };
}
/// See [`short_write_message`].
const SHORT_WRITE_MESSAGE: &str = short_write_message!();

/// Defines, for the writer's session only, the check that ends every write statement: a
/// mismatch between the rows written and the rows meant raises serialization_failure (40001),
/// which undoes the statement (it commits on its own, so checking the count afterwards would be
/// too late) and which the writer retries. A temporary function (called as `pg_temp.`, which no
/// other schema can shadow) needs no migration: every node defines the one it runs.
pub(crate) const EXPECT_ROWS_FUNCTION: &str = concat!(
    "CREATE FUNCTION pg_temp.meterai_expect_rows(written BIGINT, expected BIGINT) \
     RETURNS BIGINT LANGUAGE plpgsql VOLATILE AS $$ BEGIN \
     IF written IS DISTINCT FROM expected THEN \
     RAISE EXCEPTION '",
    short_write_message!(),
    "% of % rows written, a concurrent writer won', written, expected USING ERRCODE = '40001'; \
     END IF; RETURN written; END $$"
);

/// Finds the stampings recorded under (owner, Idempotency-Key) pairs: `$1` owners, `$2` keys.
const STAMPING_KEYS_SQL: &str = "SELECT s.user_id, s.idempotency_key, s.id FROM stampings s \
     JOIN UNNEST($1::bigint[], $2::text[]) AS k (user_id, idempotency_key) \
     ON s.user_id = k.user_id AND s.idempotency_key = k.idempotency_key";

/// Serial sequence numbers a writer takes from the shared counter at a time. Numbers of a
/// block not used when its writer stops, or skipped because a batch needed more than was left,
/// are never issued: serial numbers may have gaps, never repeats.
pub const SERIAL_BLOCK_NUMBERS: i64 = 1_024;

/// A writer's serial sequence numbers taken from the counter and not yet used: `next..=last`.
#[derive(Debug)]
pub(crate) struct SerialBlock {
    /// The next number to use.
    next: i64,
    /// The block's last number (`next > last`: empty).
    last: i64,
}

impl SerialBlock {
    /// A block with no numbers: the first batch that needs one takes a block.
    pub(crate) const EMPTY: SerialBlock = SerialBlock { next: 1, last: 0 };

    fn remaining(&self) -> i64 {
        self.last - self.next + 1
    }

    /// Makes sure `wanted` numbers are left, taking a new block in a transaction of its own
    /// (committed at once, so no batch waits on the counter's row lock).
    async fn ensure(&mut self, conn: &mut PgConnection, wanted: i64) -> Result<(), StoreError> {
        if self.remaining() >= wanted {
            return Ok(());
        }
        let size = wanted.max(SERIAL_BLOCK_NUMBERS);
        let last: i64 = sqlx::query("UPDATE counters SET value = value + $1 WHERE name = 'serial_seq' RETURNING value")
            .bind(size)
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
        *self = SerialBlock { next: last - size + 1, last };
        Ok(())
    }

    /// Uses `count` numbers (made available by [`SerialBlock::ensure`]) and returns the last
    /// one. They count as used from here on, whether or not the batch commits.
    fn take(&mut self, count: i64) -> Result<i64, StoreError> {
        if count > self.remaining() {
            return Err(StoreError::corrupt("serial block", "a batch needed more serial numbers than it announced"));
        }
        self.next += count;
        Ok(self.next - 1)
    }
}

/// Runs `ops` as one batch: the reads (each statement its own snapshot), then one statement
/// that writes and commits everything or nothing.
///
/// Nothing is locked while the batch is applied in memory. What another writer or node may have
/// changed since the reads is checked where it is written, by the statement itself: a
/// reservation is resolved only while still pending (and by one transfer only: a unique index),
/// a serial number changes only while reserved, an account moves only while every CHECK on
/// its row holds afterwards, ids are primary keys. Any of those that does not match makes the
/// statement raise ([`EXPECT_ROWS_FUNCTION`]) and undo itself; the batch is then
/// read and applied again, and its rerun answers from what the winner committed.
///
/// If `from_memo` (a batch's first attempt) and `memo` holds every row the batch needs, the
/// reads are skipped and the batch is applied to the remembered rows; it is written only if
/// every operation was granted. A failed write makes `memo` forget the rows the batch used
/// and is the caller's to retry (with `from_memo` false), like any lost race. Every batch
/// written teaches `memo` what it saw.
/// See [`crate::read_memo`].
pub(crate) async fn commit(
    pool: &PgPool,
    serials: &mut SerialBlock,
    memo: &ReadMemo,
    from_memo: bool,
    ctx: &BatchContext<'_>,
    ops: &[Op],
) -> Result<Vec<Result<Done, LedgerError>>, StoreError> {
    let mut conn = pool.acquire().await?;
    let at_most = ops.iter().filter(|op| matches!(op, Op::Reserve(_) | Op::BeginStamping(..))).count();
    serials.ensure(&mut conn, i64::try_from(at_most).unwrap_or(i64::MAX)).await?;
    // Remembered rows serve only a batch they let through whole: a refusal is decided afresh.
    let remembered = if from_memo { memo.read_for(ops).map(|read| apply_ops(ctx, read, ops)) } else { None };
    let applied = match remembered {
        Some(applied) if applied.all_granted() => applied,
        _ => apply_ops(ctx, read(&mut conn, ops).await?, ops),
    };
    let last = serials.take(applied.serials_needed())?;
    let (results, writes, learned) = applied.finish_remembering(last)?;
    if let Err(error) = write(&mut conn, &writes).await {
        // Some row the batch started from has moved: the next batch needing it reads it.
        memo.forget(ops);
        return Err(error);
    }
    memo.learn(learned);
    Ok(results)
}

/// What the database holds for `ops`: their transfers and accounts, and the stampings under
/// their Idempotency-Keys (one more round trip, only for batches that begin stampings).
async fn read(conn: &mut PgConnection, ops: &[Op]) -> Result<Read, StoreError> {
    let want = wanted(ops);
    let (entries, balances) = read_entries_and_accounts(&mut *conn, &want).await?;
    let mut stamping_keys = HashMap::new();
    // Planned at every execution, not once per connection. The generic plan a writer's
    // session made early in a database's life was seen (auto_explain, HTTP benchmark on a
    // fresh database) finding the key through the index on (user_id, input_sha256) and
    // filtering every stamping of that user: a read that grew with the user's history, 0.2 ms
    // to 2 ms within 3 s. Planned afresh, the planner sees the table as it is and takes the
    // unique (user_id, key) index; parsing and planning cost ~0.25 ms per such batch.
    if !want.stamping_keys.is_empty() {
        let (users, keys): (Vec<i64>, Vec<String>) = want.stamping_keys.iter().cloned().unzip();
        let rows =
            sqlx::query(STAMPING_KEYS_SQL).bind(&users).bind(&keys).persistent(false).fetch_all(&mut *conn).await?;
        for row in rows {
            let id: String = row.try_get(2)?;
            stamping_keys.insert((row.try_get(0)?, row.try_get(1)?), transfer_id_from(&id, "stampings")?);
        }
    }
    Ok(Read { entries, balances, stamping_keys })
}

/// Reads the transfers the batch names with their reservation state and serial number, and
/// the accounts it moves (those its operations name, and those of the reservations it
/// resolves, found in the same statement), in one round trip. Each row holds a transfer in its
/// first [`ENTRY_COLUMNS`] columns or an account in the rest, the other part NULL.
async fn read_entries_and_accounts(
    conn: &mut PgConnection,
    want: &Wanted,
) -> Result<(HashMap<TransferId, Entry>, Vec<Balance>), StoreError> {
    // The same text for every batch: built once, prepared once per connection.
    static SQL: LazyLock<String> = LazyLock::new(|| {
        let no_entry = ["NULL"; ENTRY_COLUMNS].join(", ");
        let no_account = ["NULL"; ACCOUNT_COLUMN_COUNT].join(", ");
        format!(
            "WITH e AS MATERIALIZED ({entries} WHERE t.id = ANY($1)), \
             ids AS (SELECT UNNEST($2::bigint[]) AS id \
                     UNION SELECT debit_account_id FROM e WHERE id = ANY($3) \
                     UNION SELECT credit_account_id FROM e WHERE id = ANY($3)) \
             SELECT e.*, {no_account} FROM e \
             UNION ALL SELECT {no_entry}, {ACCOUNT_COLUMNS} FROM account_balances WHERE id IN (SELECT id FROM ids)",
            entries = entry_select(),
        )
    });
    let rows = sqlx::query(sqlx::AssertSqlSafe(SQL.as_str()))
        .bind(&want.ids)
        .bind(&want.named_accounts)
        .bind(&want.pending_ids)
        .fetch_all(&mut *conn)
        .await?;
    let (mut entries, mut balances) = (HashMap::new(), Vec::new());
    for row in rows {
        // A transfer's id is never NULL: a row without one holds an account.
        if row.text(0)?.is_some() {
            let entry = entry_from_row(&row)?;
            entries.insert(entry.transfer.id, entry);
        } else {
            balances.push(balance_from_row(&ColumnsFrom { row: &row, first: ENTRY_COLUMNS })?);
        }
    }
    Ok((entries, balances))
}

/// Runs `writes` as one statement, committed on its own; a short row count undoes all of it
/// and is an `Err` (another writer won).
async fn write(conn: &mut PgConnection, writes: &WriteSet) -> Result<(), StoreError> {
    if writes.is_empty() {
        return Ok(());
    }
    let (sql, arguments) = write_statement(writes)?;
    match sqlx::query_with(sqlx::AssertSqlSafe(sql), arguments).execute(&mut *conn).await {
        Ok(_) => Ok(()),
        Err(e) => Err(lost_race(e)),
    }
}

/// A write statement's error as the writer sees it: the mismatch [`EXPECT_ROWS_FUNCTION`]
/// raises is a lost race, reported as [`StoreError::Contention`] like SQLite's short write
/// ([`crate::batch::short_write`]), so both backends tell it the same way; anything else
/// stays a database error.
fn lost_race(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("40001") && db.message().starts_with(SHORT_WRITE_MESSAGE) => {
            StoreError::Contention(db.message().to_string())
        }
        _ => StoreError::from(error),
    }
}

/// One statement for every write of the batch: each write a CTE over its columns bound as
/// arrays, and the total of the rows they wrote or matched checked against the rows written
/// (the last parameter) by [`EXPECT_ROWS_FUNCTION`], which raises on a mismatch.
fn write_statement(writes: &WriteSet) -> Result<(String, PgArguments), StoreError> {
    let mut arguments = PgArguments::default();
    let mut next = 1;
    let mut ctes = Vec::with_capacity(writes.len());
    for (index, write) in writes.iter().enumerate() {
        let mut arrays = Vec::with_capacity(write.spec.types.len());
        for (column, ty) in write.spec.types.iter().enumerate() {
            let cell = |row: &Vec<Val>| row.get(column).cloned().unwrap_or(Val::NullText);
            let added = match ty {
                Ty::Int => {
                    let values: Vec<Option<i64>> = write.rows.iter().map(|r| int_of(&cell(r))).collect::<Result<_, _>>()?;
                    arrays.push(format!("${next}::bigint[]"));
                    arguments.add(values)
                }
                Ty::Text => {
                    let values: Vec<Option<String>> = write.rows.iter().map(|r| text_of(cell(r))).collect::<Result<_, _>>()?;
                    arrays.push(format!("${next}::text[]"));
                    arguments.add(values)
                }
            };
            added.map_err(|e| StoreError::Database(sqlx::Error::Encode(e)))?;
            next += 1;
        }
        let body = write.spec.postgres.replace("{rows}", &format!("UNNEST({})", arrays.join(", ")));
        ctes.push(format!("w{index} AS ({body})"));
    }
    let expected = i64::try_from(expected_rows(writes)).map_err(|_| StoreError::corrupt("write set", "too many rows"))?;
    arguments.add(expected).map_err(|e| StoreError::Database(sqlx::Error::Encode(e)))?;
    let total: Vec<String> = (0..writes.len()).map(|i| format!("(SELECT count(*) FROM w{i})")).collect();
    let sql = format!("WITH {} SELECT pg_temp.meterai_expect_rows(CAST({} AS BIGINT), ${next})", ctes.join(", "), total.join(" + "));
    Ok((sql, arguments))
}

/// A value of a BIGINT column (a mismatch is a bug in the write specs, reported, not panicked).
fn int_of(val: &Val) -> Result<Option<i64>, StoreError> {
    match val {
        Val::Int(v) => Ok(Some(*v)),
        Val::NullInt | Val::NullText => Ok(None),
        Val::Text(_) => Err(StoreError::corrupt("write set", "text value in an integer column")),
    }
}

/// A value of a TEXT column.
fn text_of(val: Val) -> Result<Option<String>, StoreError> {
    match val {
        Val::Text(t) => Ok(Some(t)),
        Val::NullInt | Val::NullText => Ok(None),
        Val::Int(_) => Err(StoreError::corrupt("write set", "integer value in a text column")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{UPDATE_PENDING, Write};
    use crate::store::{Store, prepare_writer_session};
    use sqlx::Connection;

    /// The PostgreSQL server the tests use.
    fn test_database_url() -> String {
        std::env::var("METERAI_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
    }

    /// Runs `setup` in a writer's session on a freshly migrated schema, then returns the first
    /// column of what `explain` (a query, usually EXPLAIN) answers, one line per row. The
    /// fixture's rows may skip the foreign keys (replica role): only the plan (or the stored
    /// form of a value) matters here.
    async fn in_writer_session(setup: &str, explain: &str) -> String {
        let base = test_database_url();
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let schema = format!("plan_{}_{nanos}", std::process::id());
        let mut admin = PgConnection::connect(&base).await.expect("PostgreSQL is required for the tests");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&mut admin).await.unwrap();
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options[search_path]={schema}");
        Store::open(&url).await.expect("migrate").close().await;
        let mut conn = PgConnection::connect(&url).await.unwrap();
        prepare_writer_session(&mut conn).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(setup.to_string())).execute(&mut conn).await.unwrap();
        let lines = sqlx::raw_sql(sqlx::AssertSqlSafe(explain.to_string())).fetch_all(&mut conn).await.unwrap();
        let plan: Vec<String> = lines.iter().map(|r| r.try_get(0).unwrap()).collect();
        conn.close().await.ok();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).execute(&mut admin).await.ok();
        plan.join("\n")
    }

    /// The plan of the statement that resolves reservations, prepared and first run (so
    /// planned, generically, as the writer's sessions do) while no reservation is pending,
    /// then explained once `pending` reservations are.
    async fn resolve_plan_once_pending(pending: u32) -> String {
        let row = vec![Val::Text("none".into()), Val::from("posted"), Val::NullText, Val::Int(0), Val::from("pending")];
        let (sql, _) = write_statement(&vec![Write { spec: &UPDATE_PENDING, rows: vec![row] }]).unwrap();
        let args = "ARRAY['none'], ARRAY['posted'], ARRAY[NULL]::text[], ARRAY[0]::bigint[], ARRAY['pending'], 0";
        let setup = format!(
            "PREPARE resolve AS {sql}; EXECUTE resolve({args}); \
             SET session_replication_role = replica; \
             INSERT INTO pending_transfers (transfer_id, expires_at, status) \
             SELECT 'r' || g, g, 'pending' FROM generate_series(1, {pending}) g; \
             SET session_replication_role = DEFAULT"
        );
        in_writer_session(&setup, &format!("EXPLAIN EXECUTE resolve({args})")).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stamping_is_found_by_its_key_through_the_unique_index_however_many_its_owner_has() {
        // What the writer's unnamed statement gets: a plan made after the owner's history grew.
        let setup = "SET session_replication_role = replica; \
             INSERT INTO stampings (id, user_id, idempotency_key, request_sha256, status, file_name, input_sha256, \
             input_bytes, page, doc_type, doc_number, doc_date, created_at) \
             SELECT 's' || g, 1, 'key-' || g, 'r', 'failed', 'f.pdf', 'i' || g, 1, 1, '2', 'n', 'd', g \
             FROM generate_series(1, 5000) g; \
             SET session_replication_role = DEFAULT";
        let explain = format!("PREPARE keys AS {STAMPING_KEYS_SQL}; EXPLAIN EXECUTE keys(ARRAY[1], ARRAY['key-7'])");
        let plan = in_writer_session(setup, &explain).await;
        assert!(plan.contains("stampings_user_id_idempotency_key_key"), "{plan}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_short_write_is_reported_as_contention_like_sqlites_and_other_errors_are_not() {
        let mut conn = PgConnection::connect(&test_database_url()).await.expect("PostgreSQL is required for the tests");
        prepare_writer_session(&mut conn).await.unwrap();
        let short = sqlx::query("SELECT pg_temp.meterai_expect_rows(1, 2)").execute(&mut conn).await.unwrap_err();
        assert!(matches!(lost_race(short), StoreError::Contention(m) if m.contains("1 of 2 rows")));
        let other = sqlx::query("SELECT 1 / 0").execute(&mut conn).await.unwrap_err();
        assert!(matches!(lost_race(other), StoreError::Database(_)));
        let written = sqlx::query("SELECT pg_temp.meterai_expect_rows(2, 2)").fetch_one(&mut conn).await.unwrap();
        assert_eq!(written.try_get::<i64, _>(0).unwrap(), 2);
        conn.close().await.ok();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stamped_tail_is_compressed_with_lz4_when_the_server_has_it() {
        let setup = "SET session_replication_role = replica; \
             INSERT INTO stampings (id, user_id, idempotency_key, request_sha256, status, file_name, input_sha256, \
             input_bytes, page, doc_type, doc_number, doc_date, created_at, tail_hex) \
             VALUES ('s1', 1, 'key-1', 'r', 'processing', 'f.pdf', 'i', 1, 1, '2', 'n', 'd', 1, repeat('0a1b', 5000)); \
             SET session_replication_role = DEFAULT";
        let query = "SELECT pg_column_compression(tail_hex) || ' where the server offers ' || \
             (SELECT array_to_string(enumvals, ',') FROM pg_settings WHERE name = 'default_toast_compression') \
             FROM stampings";
        let stored = in_writer_session(setup, query).await;
        let offered = stored.rsplit(' ').next().unwrap_or_default();
        let expected = if offered.split(',').any(|method| method == "lz4") { "lz4 " } else { "pglz " };
        assert!(stored.starts_with(expected), "{stored}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn resolving_a_reservation_goes_by_primary_key_however_many_are_pending() {
        let plan = resolve_plan_once_pending(5_000).await;
        assert!(plan.contains("pending_transfers_pkey"), "{plan}");
        assert!(!plan.contains("pending_due"), "the plan walks the pending reservations:\n{plan}");
    }

    #[test]
    fn a_serial_block_hands_out_consecutive_numbers_and_never_more_than_it_holds() {
        let mut block = SerialBlock::EMPTY;
        assert_eq!(block.remaining(), 0);
        assert!(block.take(1).is_err(), "an empty block has nothing to give");
        assert_eq!(block.take(0).ok(), Some(0), "a batch without reservations takes nothing");
        block = SerialBlock { next: 1_025, last: 2_048 };
        assert_eq!(block.take(3).ok(), Some(1_027), "1,025..=1,027");
        assert_eq!(block.take(2).ok(), Some(1_029), "1,028..=1,029: no number twice");
        assert_eq!(block.remaining(), 2_048 - 1_029);
        assert!(block.take(2_048).is_err());
        assert_eq!(block.remaining(), 2_048 - 1_029, "a refused take uses nothing");
    }
}
