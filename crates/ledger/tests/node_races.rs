//! What two nodes racing for one reservation see on PostgreSQL, where batches of several writers
//! and nodes run at once, read without locks, and the row locks of their write statements order
//! them. (SQLite has one writer per database: its batches never overlap, so there is nothing to
//! race; the conformance suite covers it.)

mod common;

use std::time::{Duration, Instant};

use common::{Kind, TestDb, clock};
use meterai_core::DocType;
use meterai_ledger::*;
use sqlx::{Connection, PgConnection, Row};

/// How long a test waits for the database to show the lock waits it set up.
const LOCK_WAIT_SETUP_MAX: Duration = Duration::from_secs(20);

/// Backends blocked by `pid`, and backends blocked by those.
async fn blocked_by(conn: &mut PgConnection, pid: i32) -> (i64, i64) {
    let row = sqlx::query(
        "WITH first AS (SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))) \
         SELECT (SELECT count(*) FROM first), \
                (SELECT count(*) FROM pg_stat_activity a WHERE EXISTS \
                    (SELECT 1 FROM first WHERE first.pid = ANY(pg_blocking_pids(a.pid))))",
    )
    .bind(pid)
    .fetch_one(conn)
    .await
    .unwrap();
    (row.get(0), row.get(1))
}

/// Polls until the database shows the wanted lock waits (the waits are what the test sets up,
/// so this is a wait for a state, not for a time).
async fn wait_for_blocked(conn: &mut PgConnection, pid: i32, wanted: (i64, i64)) {
    let started = Instant::now();
    loop {
        let seen = blocked_by(conn, pid).await;
        if seen == wanted {
            return;
        }
        assert!(started.elapsed() < LOCK_WAIT_SETUP_MAX, "lock waits behind {pid}: {seen:?}, wanted {wanted:?}");
        tokio::task::yield_now().await;
    }
}

/// Backends waiting behind `pid`, directly or through another waiter.
async fn waiting_behind(conn: &mut PgConnection, pid: i32) -> i64 {
    sqlx::query(
        "WITH RECURSIVE chain (pid) AS (SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid)) \
         UNION SELECT a.pid FROM pg_stat_activity a JOIN chain c ON c.pid = ANY(pg_blocking_pids(a.pid))) \
         SELECT count(*) FROM chain",
    )
    .bind(pid)
    .fetch_one(conn)
    .await
    .unwrap()
    .get(0)
}

/// Polls until at least `count` backends wait behind `pid` (`what` names them if they never do).
async fn wait_until_waiting_behind(conn: &mut PgConnection, pid: i32, count: i64, what: &str) {
    let started = Instant::now();
    while waiting_behind(conn, pid).await < count {
        assert!(started.elapsed() < LOCK_WAIT_SETUP_MAX, "{what} never waited behind {pid}");
        tokio::task::yield_now().await;
    }
}

/// Two nodes on one fresh database, and a user with `units` of quota.
async fn two_nodes_and_a_user(units: i64) -> (TestDb, Ledger, Ledger, User) {
    let db = TestDb::fresh(Kind::Postgres).await;
    let clock = clock();
    let node_a = db.ledger(clock.clone()).await;
    let node_b = db.ledger(clock.clone()).await;
    node_a.mint(Mint { id: TransferId(1), units: 10, note: "batch 1".into() }).await.unwrap();
    let (user, _) = node_a.create_user("owner@example.com").await.unwrap();
    let grant = Grant { id: TransferId(2), to: user.quota_account, units, reason: "test".into(), reference: "order-1".into() };
    node_a.grant(grant).await.unwrap();
    (db, node_a, node_b, user)
}

/// A connection holding the row lock of `account` in an open transaction, and its backend pid.
async fn hold_account(db: &TestDb, account: AccountId) -> (PgConnection, i32) {
    let mut holder = PgConnection::connect(&db.location).await.unwrap();
    let pid: i32 = sqlx::query("SELECT pg_backend_pid()").fetch_one(&mut holder).await.unwrap().get(0);
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("SELECT id FROM accounts WHERE id = $1 FOR UPDATE").bind(account.0).execute(&mut holder).await.unwrap();
    (holder, pid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_reserving_the_last_unit_at_once_give_it_to_one_and_refuse_the_other() {
    let (db, node_a, node_b, user) = two_nodes_and_a_user(1).await;

    // Both nodes read one unit available (nothing is locked while a batch is applied); their
    // writes then queue behind the quota account's row, held here, node A's first.
    let (mut holder, holder_pid) = hold_account(&db, user.quota_account).await;
    let mut watcher = PgConnection::connect(&db.location).await.unwrap();
    let reserve = |node: &Ledger, id: u128| {
        let node = node.clone();
        let request = Reserve { id: TransferId(id), account: user.quota_account, timeout_ms: 60_000, reference: format!("stamping-{id}") };
        tokio::spawn(async move { node.reserve(request).await })
    };
    let first = reserve(&node_a, 10);
    wait_until_waiting_behind(&mut watcher, holder_pid, 1, "node A's write").await;
    let second = reserve(&node_b, 11);
    wait_until_waiting_behind(&mut watcher, holder_pid, 2, "node B's write").await;
    sqlx::query("COMMIT").execute(&mut holder).await.unwrap();

    first.await.unwrap().expect("node A's reservation was first");
    let err = second.await.unwrap().unwrap_err();
    assert!(matches!(err, LedgerError::InsufficientQuota { .. }), "the last unit went to node A: {err:?}");
    assert_eq!(node_b.batch_rollbacks(), 1, "node B's write, made on a stale balance, was undone once and rerun");
    let quota = node_b.balance(user.quota_account).await.unwrap().unwrap();
    assert_eq!((quota.available(), quota.debits_pending), (0, 1));
    assert!(node_b.audit().await.unwrap().is_clean());
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_that_waited_for_another_nodes_void_of_its_reservation_reports_it_voided() {
    let (db, node_a, node_b, user) = two_nodes_and_a_user(3).await;
    let reserve = Reserve { id: TransferId(10), account: user.quota_account, timeout_ms: 60_000, reference: "stamping-10".into() };
    node_a.reserve(reserve).await.unwrap();

    // Node A's void writes the reservation, then waits for the quota account, held here.
    let (mut holder, holder_pid) = hold_account(&db, user.quota_account).await;
    let mut watcher = PgConnection::connect(&db.location).await.unwrap();
    let void = tokio::spawn({
        let node_a = node_a.clone();
        async move { node_a.void(Void { id: TransferId(11), pending_id: TransferId(10), reason: "pdf rejected".into() }).await }
    });
    wait_for_blocked(&mut watcher, holder_pid, (1, 0)).await;
    // Node B's post read the reservation still pending (node A has not committed), and its
    // write waits for node A's.
    let post = tokio::spawn({
        let node_b = node_b.clone();
        let stamp = StampBinding { doc_sha256: [1; 32], doc_type: DocType::Statement, stamped_at: common::T0 };
        async move { node_b.post(Post { id: TransferId(12), pending_id: TransferId(10), stamp }).await }
    });
    wait_for_blocked(&mut watcher, holder_pid, (1, 1)).await;
    sqlx::query("COMMIT").execute(&mut holder).await.unwrap();

    void.await.unwrap().expect("the void was first");
    let err = post.await.unwrap().unwrap_err();
    assert!(
        matches!(err, LedgerError::PendingAlreadyResolved { status: PendingStatus::Voided, .. }),
        "the post must see the void committed while it waited: {err:?}"
    );
    assert_eq!(node_b.batch_rollbacks(), 1, "the post's write, made on a stale read, was undone once and rerun");
    assert_eq!(node_a.batch_rollbacks(), 0, "the void never lost");
    let quota = node_b.balance(user.quota_account).await.unwrap().unwrap();
    assert_eq!((quota.available(), quota.debits_pending, quota.debits_posted), (3, 0, 0));
    assert!(node_b.audit().await.unwrap().is_clean());
    db.cleanup().await;
}

// A node's writers remember the rows their batches saw and start the next batch from them
// (read_memo.rs). What another node changed since is not in that memory: these tests make it
// stale on purpose and check that it costs at most one undone write, never a wrong answer.

/// `user`'s quota as (available, debits pending, debits posted), read through `node`, once
/// the audit found the books clean; the test's database is dropped.
async fn quota_then_cleanup(db: TestDb, node: &Ledger, user: &User) -> (i64, i64, i64) {
    let quota = node.balance(user.quota_account).await.unwrap().unwrap();
    assert!(node.audit().await.unwrap().is_clean());
    db.cleanup().await;
    (quota.available(), quota.debits_pending, quota.debits_posted)
}

/// A reservation of one unit of `user`'s quota, made through `node`.
async fn reserve_one(node: &Ledger, user: &User, id: u128) -> Result<Receipt, LedgerError> {
    node.reserve(Reserve { id: TransferId(id), account: user.quota_account, timeout_ms: 60_000, reference: format!("stamping-{id}") })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_remembers_quota_another_node_spent_refuses_from_the_database_after_one_undone_write() {
    let (db, node_a, node_b, user) = two_nodes_and_a_user(2).await;
    // Node A reserves one unit and remembers one left; node B spends that one.
    reserve_one(&node_a, &user, 10).await.unwrap();
    reserve_one(&node_b, &user, 11).await.unwrap();

    let err = reserve_one(&node_a, &user, 12).await.unwrap_err();
    assert!(matches!(err, LedgerError::InsufficientQuota { available: 0, .. }), "{err:?}");
    assert_eq!(node_a.batch_rollbacks(), 1, "the write made from memory was undone once, then the batch read afresh");
    assert_eq!(quota_then_cleanup(db, &node_a, &user).await, (0, 2, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_remembers_no_quota_left_asks_the_database_before_refusing() {
    let (db, node_a, node_b, user) = two_nodes_and_a_user(1).await;
    reserve_one(&node_a, &user, 10).await.unwrap();
    // Node A now remembers nothing available; node B grants one more unit.
    let grant = Grant { id: TransferId(3), to: user.quota_account, units: 1, reason: "test".into(), reference: "order-2".into() };
    node_b.grant(grant).await.unwrap();

    let receipt = reserve_one(&node_a, &user, 11).await.expect("the unit node B granted is there");
    assert!(receipt.serial.is_some());
    assert_eq!(node_a.batch_rollbacks(), 0, "a refusal found in memory is checked by reading, not by writing");
    assert_eq!(quota_then_cleanup(db, &node_a, &user).await, (0, 2, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_remembers_a_reservation_another_node_voided_posts_nothing_and_says_it_was_voided() {
    let (db, node_a, node_b, user) = two_nodes_and_a_user(1).await;
    reserve_one(&node_a, &user, 10).await.unwrap();
    node_b.void(Void { id: TransferId(11), pending_id: TransferId(10), reason: "pdf rejected".into() }).await.unwrap();

    let stamp = StampBinding { doc_sha256: [1; 32], doc_type: DocType::Statement, stamped_at: common::T0 };
    let err = node_a.post(Post { id: TransferId(12), pending_id: TransferId(10), stamp }).await.unwrap_err();
    assert!(matches!(err, LedgerError::PendingAlreadyResolved { status: PendingStatus::Voided, .. }), "{err:?}");
    assert_eq!(node_a.batch_rollbacks(), 1, "the post made from memory was undone once, then the batch read afresh");
    assert_eq!(quota_then_cleanup(db, &node_a, &user).await, (1, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reservation_repeated_on_another_node_answers_with_the_first_receipt_and_holds_one_unit() {
    let (db, node_a, node_b, user) = two_nodes_and_a_user(3).await;
    reserve_one(&node_a, &user, 9).await.unwrap();
    let first = reserve_one(&node_b, &user, 10).await.unwrap();

    // Node A remembers the quota account but not node B's reservation: it takes the id for
    // new until the database says otherwise.
    let repeat = reserve_one(&node_a, &user, 10).await.expect("a repeat is answered, not refused");
    assert_eq!(repeat, first, "the same transfer and serial number");
    assert_eq!(node_a.batch_rollbacks(), 1, "the insert of a taken id was undone once, then the batch read afresh");
    assert_eq!(quota_then_cleanup(db, &node_a, &user).await, (1, 2, 0));
}
