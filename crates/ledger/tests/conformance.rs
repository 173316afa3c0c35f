//! The conformance suite: every behaviour of the ledger, run on SQLite and on PostgreSQL.

mod common;

use common::{Kind, TestDb, clock};
use meterai_core::{Clock, DocType, Serial, Timestamp};
use meterai_ledger::originals::Unneeded;
use meterai_ledger::*;

fn id(n: u128) -> TransferId {
    TransferId(n)
}

fn stamp(seed: u8) -> StampBinding {
    StampBinding { doc_sha256: [seed; 32], doc_type: DocType::Statement, stamped_at: common::T0 }
}

/// A ledger with `stock` minted and a user holding `quota` of it.
async fn setup(db: &TestDb, stock: i64, quota: i64) -> (Ledger, User, std::sync::Arc<meterai_core::ManualClock>) {
    let clock = clock();
    let ledger = db.ledger(clock.clone()).await;
    ledger.mint(Mint { id: id(1), units: stock, note: "batch 1".into() }).await.unwrap();
    let (user, _) = ledger.create_user("Owner@Example.com").await.unwrap();
    if quota > 0 {
        ledger
            .grant(Grant { id: id(2), to: user.quota_account, units: quota, reason: "test".into(), reference: "order-1".into() })
            .await
            .unwrap();
    }
    (ledger, user, clock)
}

fn reserve(n: u128, user: &User) -> Reserve {
    Reserve { id: id(n), account: user.quota_account, timeout_ms: 60_000, reference: format!("stamping-{n}") }
}

async fn a_full_stamping_moves_one_unit_and_stamps_its_serial(kind: Kind) {
    let db = TestDb::fresh(kind).await;
    let (ledger, user, _) = setup(&db, 10, 3).await;
    assert_eq!(ledger.stock_level().await.unwrap(), 7);
    let held = ledger.reserve(reserve(10, &user)).await.unwrap();
    let serial = held.serial.expect("a reservation carries a serial number");
    assert_eq!(serial.series(), "01");
    let quota = ledger.balance(user.quota_account).await.unwrap().unwrap();
    assert_eq!((quota.available(), quota.debits_pending), (2, 1));
    let lookup = ledger.lookup_serial(&serial).await.unwrap().unwrap();
    assert_eq!(lookup.state, SerialState::Reserved);
    let posted = ledger.post(Post { id: id(11), pending_id: id(10), stamp: stamp(7) }).await.unwrap();
    assert_eq!(posted.serial, Some(serial));
    let lookup = ledger.lookup_serial(&serial).await.unwrap().unwrap();
    assert_eq!(lookup.state, SerialState::Stamped);
    assert_eq!(lookup.doc_sha256, Some([7; 32]));
    assert_eq!(lookup.doc_type, Some(DocType::Statement));
    assert_eq!(lookup.stamped_at, Some(common::T0));
    let consumed = ledger.balance(AccountId::CONSUMED).await.unwrap().unwrap();
    assert_eq!(consumed.credits_posted, 1);
    let quota = ledger.balance(user.quota_account).await.unwrap().unwrap();
    assert_eq!((quota.available(), quota.debits_posted, quota.debits_pending), (2, 1, 0));
    assert!(ledger.audit().await.unwrap().is_clean());
    db.cleanup().await;
}
on_both_backends!(a_full_stamping_moves_one_unit_and_stamps_its_serial, crate::a_full_stamping_moves_one_unit_and_stamps_its_serial);

async fn a_repeated_request_returns_the_original_result(kind: Kind) {
    let db = TestDb::fresh(kind).await;
    let (ledger, user, clock) = setup(&db, 10, 3).await;
    let first = ledger.reserve(reserve(10, &user)).await.unwrap();
    clock.advance(5);
    let again = ledger.reserve(reserve(10, &user)).await.unwrap();
    assert_eq!(first, again, "same id, same fields: the original reservation and serial");
    let quota = ledger.balance(user.quota_account).await.unwrap().unwrap();
    assert_eq!(quota.debits_pending, 1, "the repeat held nothing more");
    let post = Post { id: id(11), pending_id: id(10), stamp: stamp(1) };
    assert_eq!(ledger.post(post.clone()).await.unwrap(), ledger.post(post).await.unwrap());
    let mint = ledger.mint(Mint { id: id(1), units: 10, note: "batch 1".into() }).await.unwrap();
    assert_eq!(mint.transfer.created_at, common::T0);
    assert_eq!(ledger.stock_level().await.unwrap(), 7, "a repeated mint mints nothing");
    let quoted = Mint { id: id(5), units: 1, note: "O'Brien's batch; DROP TABLE x; -- \\ '' end".into() };
    let stored = ledger.mint(quoted.clone()).await.unwrap();
    assert_eq!(stored.transfer.reason, quoted.note, "text with quotes is stored as given");
    assert_eq!(ledger.mint(quoted.clone()).await.unwrap(), stored);
    assert_eq!(ledger.mint_batches().await.unwrap()[1].reason, quoted.note);
    let nul = Mint { id: id(6), units: 1, note: "a\0b".into() };
    assert_eq!(ledger.mint(nul).await.unwrap_err().code(), "INVALID_TEXT");
    assert!(ledger.audit().await.unwrap().is_clean());
    db.cleanup().await;
}
on_both_backends!(a_repeated_request_returns_the_original_result, crate::a_repeated_request_returns_the_original_result);

async fn a_reused_id_with_other_fields_names_the_field(kind: Kind) {
    let db = TestDb::fresh(kind).await;
    let (ledger, user, _) = setup(&db, 10, 3).await;
    let err = ledger.mint(Mint { id: id(1), units: 11, note: "batch 1".into() }).await.unwrap_err();
    assert!(matches!(err, LedgerError::IdConflict { field: "units", .. }), "{err:?}");
    assert_eq!(err.code(), "ID_CONFLICT");
    let err = ledger.mint(Mint { id: id(1), units: 10, note: "other".into() }).await.unwrap_err();
    assert!(matches!(err, LedgerError::IdConflict { field: "note", .. }), "{err:?}");
    ledger.reserve(reserve(10, &user)).await.unwrap();
    let mut changed = reserve(10, &user);
    changed.timeout_ms = 1;
    let err = ledger.reserve(changed).await.unwrap_err();
    assert!(matches!(err, LedgerError::IdConflict { field: "timeout_ms", .. }), "{err:?}");
    let err = ledger.void(Void { id: id(10), pending_id: id(10), reason: String::new() }).await.unwrap_err();
    assert!(matches!(err, LedgerError::IdConflict { field: "kind", .. }), "{err:?}");
    ledger.post(Post { id: id(11), pending_id: id(10), stamp: stamp(1) }).await.unwrap();
    let err = ledger.post(Post { id: id(11), pending_id: id(10), stamp: stamp(2) }).await.unwrap_err();
    assert!(matches!(err, LedgerError::IdConflict { field: "doc_sha256", .. }), "{err:?}");
    db.cleanup().await;
}
on_both_backends!(a_reused_id_with_other_fields_names_the_field, crate::a_reused_id_with_other_fields_names_the_field);

async fn a_reservation_resolves_exactly_once(kind: Kind) {
    let db = TestDb::fresh(kind).await;
    let (ledger, user, _) = setup(&db, 10, 3).await;
    let held = ledger.reserve(reserve(10, &user)).await.unwrap();
    ledger.void(Void { id: id(11), pending_id: id(10), reason: "pdf rejected".into() }).await.unwrap();
    let err = ledger.post(Post { id: id(12), pending_id: id(10), stamp: stamp(1) }).await.unwrap_err();
    assert!(
        matches!(err, LedgerError::PendingAlreadyResolved { status: PendingStatus::Voided, .. }),
        "{err:?}"
    );
    let err = ledger.void(Void { id: id(13), pending_id: id(10), reason: String::new() }).await.unwrap_err();
    assert_eq!(err.code(), "PENDING_ALREADY_RESOLVED");
    let serial = held.serial.unwrap();
    assert_eq!(ledger.lookup_serial(&serial).await.unwrap().unwrap().state, SerialState::Void);
    let quota = ledger.balance(user.quota_account).await.unwrap().unwrap();
    assert_eq!((quota.available(), quota.debits_pending, quota.debits_posted), (3, 0, 0));
    let err = ledger.post(Post { id: id(14), pending_id: id(999), stamp: stamp(1) }).await.unwrap_err();
    assert_eq!(err.code(), "PENDING_NOT_FOUND");
    let err = ledger.post(Post { id: id(15), pending_id: id(2), stamp: stamp(1) }).await.unwrap_err();
    assert_eq!(err.code(), "PENDING_NOT_FOUND", "a grant is not a reservation");
    // A void SN is never reissued: the next reservation gets a new one.
    let next = ledger.reserve(reserve(20, &user)).await.unwrap();
    assert_ne!(next.serial, Some(serial));
    assert!(ledger.audit().await.unwrap().is_clean());
    db.cleanup().await;
}
on_both_backends!(a_reservation_resolves_exactly_once, crate::a_reservation_resolves_exactly_once);

async fn limits_refuse_reservations_and_grants_beyond_the_balance(kind: Kind) {
    let db = TestDb::fresh(kind).await;
    let (ledger, user, _) = setup(&db, 5, 2).await;
    ledger.reserve(reserve(10, &user)).await.unwrap();
    ledger.reserve(reserve(11, &user)).await.unwrap();
    let err = ledger.reserve(reserve(12, &user)).await.unwrap_err();
    assert!(matches!(err, LedgerError::InsufficientQuota { available: 0, .. }), "{err:?}");
    let err = ledger
        .grant(Grant { id: id(3), to: user.quota_account, units: 4, reason: String::new(), reference: String::new() })
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::InsufficientStock { available: 3, requested: 4 }), "{err:?}");
    // A refused reservation is linked: no serial number was taken for it.
    let mut raw = db.raw().await;
    let serials: i64 = sqlx::Row::try_get(
        &sqlx::query("SELECT COUNT(*) FROM serials").fetch_one(&mut raw).await.unwrap(),
        0,
    )
    .unwrap();
    assert_eq!(serials, 2);
    let stats = ledger.audit().await.unwrap();
    assert!(stats.is_clean(), "{:?}", stats.violations);
    assert_eq!(ledger.history(user.quota_account, 100).await.unwrap().len(), 3, "grant + 2 reservations");
    let err = ledger.mint(Mint { id: id(4), units: 0, note: String::new() }).await.unwrap_err();
    assert_eq!(err.code(), "INVALID_UNITS");
    let err = ledger.reserve(Reserve { timeout_ms: 0, ..reserve(13, &user) }).await.unwrap_err();
    assert_eq!(err.code(), "INVALID_TIMEOUT");
    let err = ledger.reserve(Reserve { account: AccountId::STOCK, ..reserve(14, &user) }).await.unwrap_err();
    assert_eq!(err.code(), "NO_SUCH_QUOTA_ACCOUNT");
    let err = ledger.mint(Mint { id: id(5), units: 1, note: "x".repeat(TEXT_BYTES_MAX + 1) }).await.unwrap_err();
    assert_eq!(err.code(), "TEXT_TOO_LONG");
    db.cleanup().await;
}
on_both_backends!(
    limits_refuse_reservations_and_grants_beyond_the_balance,
    crate::limits_refuse_reservations_and_grants_beyond_the_balance
);

async fn concurrent_grants_never_oversell_stock(kind: Kind) {
    let db = TestDb::fresh(kind).await;
    let (ledger, user, _) = setup(&db, 50, 0).await;
    let mut tasks = Vec::new();
    for n in 0..80u128 {
        let ledger = ledger.clone();
        let to = user.quota_account;
        tasks.push(tokio::spawn(async move {
            ledger.grant(Grant { id: id(1000 + n), to, units: 1, reason: "sale".into(), reference: format!("order-{n}") }).await
        }));
    }
    let mut granted = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => granted += 1,
            Err(e) => assert_eq!(e.code(), "INSUFFICIENT_STOCK"),
        }
    }
    assert_eq!(granted, 50);
    assert_eq!(ledger.stock_level().await.unwrap(), 0);
    assert!(ledger.audit().await.unwrap().is_clean());
    db.cleanup().await;
}
on_both_backends!(concurrent_grants_never_oversell_stock, crate::concurrent_grants_never_oversell_stock);

async fn the_sweeper_expires_overdue_reservations_once_even_on_two_nodes(kind: Kind) {
    let db = TestDb::fresh(kind).await;
    let (node_a, user, clock) = setup(&db, 20, 10).await;
    let node_b = db.ledger(clock.clone()).await;
    let mut serials = Vec::new();
    for n in 0..6u128 {
        serials.push(node_a.reserve(reserve(100 + n, &user)).await.unwrap().serial.unwrap());
    }
    assert_eq!(node_a.sweep_expired().await.unwrap(), 0, "nothing is due yet");
    clock.advance(60_000);
    let err = node_a.post(Post { id: id(200), pending_id: id(100), stamp: stamp(1) }).await.unwrap_err();
    assert_eq!(err.code(), "PENDING_EXPIRED");
    let (a, b) = tokio::join!(node_a.sweep_expired(), node_b.sweep_expired());
    assert_eq!(a.unwrap() + b.unwrap(), 6, "each reservation expired exactly once");
    assert_eq!(node_b.expire(id(101)).await.unwrap(), ExpireOutcome::AlreadyResolved);
    assert_eq!(node_b.expire(id(4242)).await.unwrap(), ExpireOutcome::Unknown);
    for serial in serials {
        assert_eq!(node_a.lookup_serial(&serial).await.unwrap().unwrap().state, SerialState::Void);
    }
    let quota = node_a.balance(user.quota_account).await.unwrap().unwrap();
    assert_eq!((quota.available(), quota.debits_pending), (10, 0));
    let history = node_a.history(user.quota_account, 100).await.unwrap();
    assert!(history.iter().filter(|m| m.status == Some(PendingStatus::Expired)).count() == 6);
    clock.advance(10 * 60_000);
    assert!(node_a.audit().await.unwrap().is_clean());
    db.cleanup().await;
}
on_both_backends!(
    the_sweeper_expires_overdue_reservations_once_even_on_two_nodes,
    crate::the_sweeper_expires_overdue_reservations_once_even_on_two_nodes
);

async fn history_tells_what_when_why_and_for_which_reference(kind: Kind) {
    let db = TestDb::fresh(kind).await;
    let (ledger, user, clock) = setup(&db, 10, 3).await;
    clock.advance(1_000);
    let held = ledger.reserve(reserve(10, &user)).await.unwrap();
    clock.advance(1_000);
    ledger.post(Post { id: id(11), pending_id: id(10), stamp: stamp(3) }).await.unwrap();
    let history = ledger.history(user.quota_account, 10).await.unwrap();
    let kinds: Vec<TransferKind> = history.iter().map(|m| m.transfer.kind).collect();
    assert_eq!(kinds, vec![TransferKind::Post, TransferKind::Reserve, TransferKind::Grant]);
    assert_eq!(history[2].transfer.reason, "test");
    assert_eq!(history[2].transfer.reference, "order-1");
    assert_eq!(history[2].available_delta, 3);
    assert_eq!(history[1].transfer.reference, "stamping-10");
    assert_eq!(history[1].status, Some(PendingStatus::Posted));
    assert_eq!(history[1].available_delta, -1);
    assert_eq!(history[1].serial, held.serial);
    assert_eq!(history[0].serial, held.serial);
    assert_eq!(history[0].transfer.created_at, Timestamp(common::T0.0 + 2_000));
    db.cleanup().await;
}
on_both_backends!(
    history_tells_what_when_why_and_for_which_reference,
    crate::history_tells_what_when_why_and_for_which_reference
);

async fn lookup_tells_unknown_serials_from_issued_ones(kind: Kind) {
    let db = TestDb::fresh(kind).await;
    let (ledger, _, _) = setup(&db, 1, 0).await;
    let never_issued = Serial::from_sequence("01", 123_456, &common::test_key()).unwrap();
    assert_eq!(ledger.lookup_serial(&never_issued).await.unwrap(), None);
    assert_eq!(ledger.lookup_serial(&Serial::offline(1, 1)).await.unwrap(), None);
    db.cleanup().await;
}
on_both_backends!(lookup_tells_unknown_serials_from_issued_ones, crate::lookup_tells_unknown_serials_from_issued_ones);

async fn users_are_keyed_by_their_lowercased_email(kind: Kind) {
    let db = TestDb::fresh(kind).await;
    let ledger = db.ledger(clock()).await;
    let (a, created) = ledger.create_user(" Budi@Example.ID ").await.unwrap();
    assert!(created);
    assert_eq!(a.email, "budi@example.id");
    let (b, created) = ledger.create_user("budi@example.id").await.unwrap();
    assert!(!created);
    assert_eq!(a, b);
    assert_eq!(ledger.user_by_email("BUDI@example.id").await.unwrap(), Some(a));
    assert_eq!(ledger.create_user("no-at-sign").await.unwrap_err().code(), "INVALID_EMAIL");
    assert_eq!(ledger.user_by_email("nobody@example.id").await.unwrap(), None);
    db.cleanup().await;
}
on_both_backends!(users_are_keyed_by_their_lowercased_email, crate::users_are_keyed_by_their_lowercased_email);

async fn reopening_the_store_keeps_the_books_and_migrates_once(kind: Kind) {
    let db = TestDb::fresh(kind).await;
    let (ledger, user, clock) = setup(&db, 10, 4).await;
    let held = ledger.reserve(reserve(10, &user)).await.unwrap();
    ledger.store().close().await;
    let reopened = db.ledger(clock).await;
    assert_eq!(reopened.stock_level().await.unwrap(), 6);
    assert_eq!(reopened.reserve(reserve(10, &user)).await.unwrap(), held);
    assert_eq!(reopened.mint_batches().await.unwrap().len(), 1);
    assert_eq!(reopened.mint_batches().await.unwrap()[0].reason, "batch 1");
    let key_a = reopened.store().serial_key().await.unwrap();
    let key_b = db.store().await.serial_key().await.unwrap();
    assert_eq!(key_a, key_b, "the stored serial key is created once");
    db.cleanup().await;
}
on_both_backends!(
    reopening_the_store_keeps_the_books_and_migrates_once,
    crate::reopening_the_store_keeps_the_books_and_migrates_once
);

async fn the_audit_names_every_tampered_record(kind: Kind) {
    let db = TestDb::fresh(kind).await;
    let (ledger, user, clock) = setup(&db, 10, 3).await;
    ledger.reserve(reserve(10, &user)).await.unwrap();
    ledger.reserve(reserve(11, &user)).await.unwrap();
    ledger.post(Post { id: id(12), pending_id: id(11), stamp: stamp(1) }).await.unwrap();
    assert!(ledger.audit().await.unwrap().is_clean());
    let mut raw = db.raw().await;
    let account = user.quota_account.0;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "UPDATE accounts SET credits_posted = credits_posted + 5 WHERE id = {account}; \
         UPDATE serials SET state = 'void' WHERE reserve_transfer_id = '{}';",
        id(11)
    )))
    .execute(&mut raw)
    .await
    .unwrap();
    clock.advance(60_000 + meterai_ledger::audit::AUDIT_OVERDUE_GRACE_MS + 1);
    let report = ledger.audit().await.unwrap();
    assert!(!report.is_clean());
    let found = |check: &str, record: &str| {
        report.violations.iter().any(|v| v.check == check && v.record == record)
    };
    assert!(found("balances_recomputed", &format!("accounts/{account}")), "{:?}", report.violations);
    assert!(found("stamped_equals_consumed", "accounts/3"), "{:?}", report.violations);
    assert!(report.violations.iter().any(|v| v.check == "serials_one_fate"), "{:?}", report.violations);
    assert!(found("no_overdue_pending", &format!("transfers/{}", id(10))), "{:?}", report.violations);
    assert!(report.checks.len() >= 7);
    let _ = clock.now();
    db.cleanup().await;
}
on_both_backends!(the_audit_names_every_tampered_record, crate::the_audit_names_every_tampered_record);

fn reserved(begun: Begun) -> Receipt {
    match begun {
        Begun::Reserved(stamping, receipt) => {
            assert_eq!((stamping.status, stamping.serial), (StampingStatus::Processing, receipt.serial));
            receipt
        }
        other => panic!("expected a reservation, got {other:?}"),
    }
}

async fn beginning_a_stamping_records_it_with_its_reservation_or_as_refused_and_answers_a_used_key_with_the_earlier_one(kind: Kind) {
    let db = TestDb::fresh(kind).await;
    let (ledger, user, _) = setup(&db, 10, 1).await;
    let first = reserved(ledger.begin_stamping(new_stamping(10, &user), user.quota_account, 60_000).await.unwrap());
    assert!(first.serial.is_some());
    let stored = ledger.stamping(user.id, id(10)).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.serial), (StampingStatus::Processing, first.serial));

    // The same key again, with another id and even another request: the earlier stamping,
    // and nothing more is held.
    let again = NewStamping { id: id(11), request_sha256: [99; 32], ..new_stamping(10, &user) };
    match ledger.begin_stamping(again, user.quota_account, 60_000).await.unwrap() {
        Begun::Existing(earlier) => assert_eq!((earlier.id, earlier.request_sha256), (id(10), [10; 32])),
        other => panic!("expected the earlier stamping, got {other:?}"),
    }
    assert!(ledger.transfer(id(11)).await.unwrap().is_none());

    // No quota left: recorded failed with the refusal's code, nothing held, no serial used.
    match ledger.begin_stamping(new_stamping(20, &user), user.quota_account, 60_000).await.unwrap() {
        Begun::Refused(failed, LedgerError::InsufficientQuota { .. }) => {
            assert_eq!((failed.status, failed.serial), (StampingStatus::Failed, None));
            assert_eq!(failed.error_code.as_deref(), Some("INSUFFICIENT_QUOTA"));
            assert_eq!(ledger.stamping(user.id, id(20)).await.unwrap().unwrap(), failed);
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(ledger.transfer(id(20)).await.unwrap().is_none());

    // Two beginnings under one key queued together (one batch, or two if the writer was quick):
    // one stamping, one reservation.
    ledger.grant(Grant { id: id(3), to: user.quota_account, units: 2, reason: String::new(), reference: String::new() }).await.unwrap();
    let (a, b) = tokio::join!(
        ledger.begin_stamping(new_stamping(30, &user), user.quota_account, 60_000),
        ledger.begin_stamping(NewStamping { id: id(31), ..new_stamping(30, &user) }, user.quota_account, 60_000),
    );
    let outcomes = [a.unwrap(), b.unwrap()];
    assert_eq!(outcomes.iter().filter(|o| matches!(o, Begun::Reserved(..))).count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| matches!(o, Begun::Existing(_))).count(), 1, "{outcomes:?}");
    assert_eq!(ledger.balance(user.quota_account).await.unwrap().unwrap().debits_pending, 2);
    assert!(ledger.audit().await.unwrap().is_clean());
    db.cleanup().await;
}
on_both_backends!(
    beginning_a_stamping_records_it_with_its_reservation_or_as_refused_and_answers_a_used_key_with_the_earlier_one,
    crate::beginning_a_stamping_records_it_with_its_reservation_or_as_refused_and_answers_a_used_key_with_the_earlier_one
);

fn new_stamping(n: u128, user: &User) -> NewStamping {
    NewStamping {
        id: id(n),
        user_id: user.id,
        idempotency_key: format!("key-{n}"),
        request_sha256: [n as u8; 32],
        file_name: "surat-pernyataan.pdf".into(),
        input_sha256: [1; 32],
        input_bytes: 1000,
        page: 1,
        doc_type: DocType::Statement,
        doc_number: format!("SP/{n}"),
        doc_date: "2026-12-02".into(),
    }
}

async fn a_stampings_post_records_it_stamped_in_the_same_transaction_or_not_at_all(kind: Kind) {
    let db = TestDb::fresh(kind).await;
    let (ledger, user, _) = setup(&db, 10, 3).await;
    let held = reserved(ledger.begin_stamping(new_stamping(10, &user), user.quota_account, 60_000).await.unwrap());
    let tail = b"\n% the appended revision\n".to_vec();
    ledger.post_stamping(Post { id: id(11), pending_id: id(10), stamp: stamp(4) }, tail.clone()).await.unwrap();
    let done = ledger.stamping(user.id, id(10)).await.unwrap().unwrap();
    assert_eq!(done.status, StampingStatus::Stamped);
    assert_eq!((done.serial, done.doc_sha256), (held.serial, Some([4; 32])));
    assert_eq!(ledger.stamping_tail(user.id, id(10)).await.unwrap(), Some(tail.clone()));

    // A stamping that is no longer processing (settled meanwhile): the post is refused whole,
    // the unit stays reserved (the web then voids it), nothing is consumed.
    reserved(ledger.begin_stamping(new_stamping(20, &user), user.quota_account, 60_000).await.unwrap());
    ledger.finish_failed(id(20), None, "INTERRUPTED", "settled", true).await.unwrap();
    let refused = ledger.post_stamping(Post { id: id(21), pending_id: id(20), stamp: stamp(5) }, tail.clone()).await;
    assert!(refused.is_err(), "{refused:?}");
    let quota = ledger.balance(user.quota_account).await.unwrap().unwrap();
    assert_eq!((quota.available(), quota.debits_pending, quota.debits_posted), (1, 1, 1));

    // A tail beyond the limit is refused before anything moves.
    reserved(ledger.begin_stamping(new_stamping(30, &user), user.quota_account, 60_000).await.unwrap());
    let huge = vec![b'x'; meterai_ledger::stampings::TAIL_BYTES_MAX + 1];
    let err = ledger.post_stamping(Post { id: id(31), pending_id: id(30), stamp: stamp(6) }, huge).await.unwrap_err();
    assert!(matches!(err, LedgerError::TextTooLong { field: "tail", .. }), "{err:?}");
    assert_eq!(ledger.balance(user.quota_account).await.unwrap().unwrap().debits_posted, 1);
    assert!(ledger.audit().await.unwrap().is_clean());
    db.cleanup().await;
}
on_both_backends!(
    a_stampings_post_records_it_stamped_in_the_same_transaction_or_not_at_all,
    crate::a_stampings_post_records_it_stamped_in_the_same_transaction_or_not_at_all
);

async fn stampings_a_dead_node_left_processing_are_settled_with_their_units_back(kind: Kind) {
    let db = TestDb::fresh(kind).await;
    let (ledger, user, clock) = setup(&db, 10, 3).await;
    // Recorded, never reserved: only an earlier version (which recorded and reserved in two
    // transactions) could leave this, when its node died in between.
    let n = new_stamping(30, &user);
    sqlx::query(
        "INSERT INTO stampings (id, user_id, idempotency_key, request_sha256, status, file_name, input_sha256, \
         input_bytes, page, doc_type, doc_number, doc_date, created_at) \
         VALUES ($1, $2, $3, $4, 'processing', 'old.pdf', $4, 1, 1, '2', '', '', $5)",
    )
    .bind(n.id.to_string())
    .bind(n.user_id)
    .bind(&n.idempotency_key)
    .bind("00".repeat(32))
    .bind(clock.now().0)
    .execute(&mut db.raw().await)
    .await
    .unwrap();
    // Reserved, never resolved: the sweeper expires it.
    let expiring = reserved(ledger.begin_stamping(new_stamping(40, &user), user.quota_account, 60_000).await.unwrap());
    // Reserved with a long timeout: still in flight as far as anyone can tell.
    reserved(ledger.begin_stamping(new_stamping(50, &user), user.quota_account, 3_600_000).await.unwrap());
    assert_eq!(ledger.settle_abandoned_stampings().await.unwrap(), 0, "nothing is abandoned yet");

    clock.advance(meterai_ledger::stampings::ABANDONED_STAMPING_AGE_MS + 1);
    assert_eq!(ledger.sweep_expired().await.unwrap(), 1);
    assert_eq!(ledger.settle_abandoned_stampings().await.unwrap(), 2);
    let never_reserved = ledger.stamping(user.id, id(30)).await.unwrap().unwrap();
    let expired = ledger.stamping(user.id, id(40)).await.unwrap().unwrap();
    for s in [&never_reserved, &expired] {
        assert_eq!(s.status, StampingStatus::Failed);
        assert_eq!(s.error_code.as_deref(), Some("INTERRUPTED"));
        assert!(s.quota_returned);
    }
    assert_eq!((never_reserved.serial, expired.serial), (None, expiring.serial));
    assert_eq!(ledger.stamping(user.id, id(50)).await.unwrap().unwrap().status, StampingStatus::Processing);
    let quota = ledger.balance(user.quota_account).await.unwrap().unwrap();
    assert_eq!((quota.available(), quota.debits_pending, quota.debits_posted), (2, 1, 0));
    assert_eq!(ledger.settle_abandoned_stampings().await.unwrap(), 0, "settled once");
    assert!(ledger.audit().await.unwrap().is_clean());
    db.cleanup().await;
}
on_both_backends!(
    stampings_a_dead_node_left_processing_are_settled_with_their_units_back,
    crate::stampings_a_dead_node_left_processing_are_settled_with_their_units_back
);

/// How the database plans `sql`, one line per step. SQLite keeps no statistics here, so an
/// index it can use is the one it uses (its parameters are left unbound: NULL). PostgreSQL
/// plans it prepared, executed with `pg_args`, and with sequential scans priced out, so an
/// index shows up wherever one can serve.
async fn plan_of(kind: Kind, raw: &mut sqlx::AnyConnection, sql: &str, pg_args: &str) -> Vec<String> {
    let (explain, detail) = match kind {
        Kind::Sqlite => (format!("EXPLAIN QUERY PLAN {sql}"), 3),
        Kind::Postgres => {
            let setup = format!("SET enable_seqscan = off; PREPARE planned AS {sql}");
            sqlx::raw_sql(sqlx::AssertSqlSafe(setup)).execute(&mut *raw).await.unwrap();
            (format!("EXPLAIN EXECUTE planned({pg_args}); DEALLOCATE planned"), 0)
        }
    };
    let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(explain)).fetch_all(&mut *raw).await.unwrap();
    rows.iter().map(|row| sqlx::Row::try_get::<String, _>(row, detail).unwrap()).collect()
}

async fn quota_units_count_reservations_in_flight_posted_and_returned_and_not_an_order_hold_that_expired(kind: Kind) {
    let db = TestDb::fresh(kind).await;
    let (ledger, user, clock) = setup(&db, 20, 5).await;
    let reserve = |n: u128, timeout_ms: i64| Reserve { id: id(n), account: user.quota_account, timeout_ms, reference: String::new() };
    for (n, timeout_ms) in [(10, 600_000), (11, 600_000), (12, 1_000), (13, 600_000)] {
        ledger.reserve(reserve(n, timeout_ms)).await.unwrap();
    }
    ledger.post(Post { id: id(20), pending_id: id(10), stamp: stamp(1) }).await.unwrap();
    ledger.void(Void { id: id(21), pending_id: id(11), reason: "failed".into() }).await.unwrap();
    // An unpaid order's hold of stock that expires is stock coming back, not quota.
    ledger.hold(Hold { id: id(30), to: user.quota_account, units: 2, timeout_ms: 1_000, reference: "order".into() }).await.unwrap();
    clock.advance(1_001);
    assert_eq!(ledger.sweep_expired().await.unwrap(), 2, "the short reservation and the hold");
    let units = ledger.quota_units().await.unwrap();
    assert_eq!((units.reserved, units.posted, units.returned), (1, 1, 2), "{units:?}");
    db.cleanup().await;
}
on_both_backends!(
    quota_units_count_reservations_in_flight_posted_and_returned_and_not_an_order_hold_that_expired,
    crate::quota_units_count_reservations_in_flight_posted_and_returned_and_not_an_order_hold_that_expired
);

/// The named statement of [`meterai_ledger::recurring_statements`].
fn recurring(name: &str) -> String {
    let all = meterai_ledger::recurring_statements();
    all.into_iter().find(|(n, _)| *n == name).map(|(_, sql)| sql).unwrap_or_else(|| panic!("no statement {name}"))
}

async fn the_retention_pass_reads_the_page_after_its_cursor_and_finds_stampings_and_drafts_by_hash_through_indexes(kind: Kind) {
    let db = TestDb::fresh(kind).await;
    let mut raw = db.raw().await;
    for (name, args) in [("retention search", "1, 1, 0, '', 10"), ("retention check", "1, 1, 'a', 'b'")] {
        let plan = plan_of(kind, &mut raw, &recurring(name), args).await;
        if name == "retention search" {
            // The page after the cursor, read from the index that orders stampings by finish
            // (SQLite in that order; PostgreSQL sorts a range it estimates small).
            assert!(plan.iter().any(|l| l.contains("stampings_by_finish")), "the search reads the history:\n{}", plan.join("\n"));
            assert!(!plan.iter().any(|l| l.contains("TEMP B-TREE FOR ORDER BY")), "{}", plan.join("\n"));
        }
        let by_hash = |line: &&String| match kind {
            Kind::Sqlite => ["SEARCH t ", "SEARCH d "].iter().any(|t| line.starts_with(t)) && line.contains("(input_sha256=?"),
            Kind::Postgres => line.contains("Index Cond: (") && line.contains("input_sha256 = \"*VALUES*\".column1"),
        };
        let lookups = plan.iter().filter(by_hash).count();
        let plan = plan.join("\n");
        match (kind, name) {
            // PostgreSQL may hash the search's anti-joins (one pass over each table per
            // statement, not one per original); it must find an index for each table.
            (Kind::Postgres, "retention search") => assert!(!plan.contains("Seq Scan"), "{name}:\n{plan}"),
            _ => assert_eq!(lookups, 2, "{name}: stampings and drafts must each be looked up by hash:\n{plan}"),
        }
    }
    drop(raw);
    db.cleanup().await;
}
on_both_backends!(
    the_retention_pass_reads_the_page_after_its_cursor_and_finds_stampings_and_drafts_by_hash_through_indexes,
    crate::the_retention_pass_reads_the_page_after_its_cursor_and_finds_stampings_and_drafts_by_hash_through_indexes
);

async fn the_sweeper_and_the_metrics_read_what_is_in_flight_or_returned_not_the_whole_history(kind: Kind) {
    let db = TestDb::fresh(kind).await;
    let mut raw = db.raw().await;
    for (name, args, index) in [("sweep", "1, 10", "stampings_processing"), ("returned units", "1", "pending_returned")] {
        let plan = plan_of(kind, &mut raw, &recurring(name), args).await.join("\n");
        assert!(plan.contains(index), "{name} reads the whole history:\n{plan}");
    }
    drop(raw);
    db.cleanup().await;
}
on_both_backends!(
    the_sweeper_and_the_metrics_read_what_is_in_flight_or_returned_not_the_whole_history,
    crate::the_sweeper_and_the_metrics_read_what_is_in_flight_or_returned_not_the_whole_history
);

async fn an_original_is_kept_once_by_its_hash_read_back_byte_for_byte_and_removed(kind: Kind) {
    let db = TestDb::fresh(kind).await;
    let ledger = db.ledger(clock()).await;
    // Every byte value, NUL included, and more than one TOAST chunk on PostgreSQL.
    let bytes: Vec<u8> = (0..20_000u32).map(|i| (i % 256) as u8).collect();
    // The ledger keeps what it is given under the name it is given (the web service hashes).
    let sha = [7u8; 32];
    assert_eq!(ledger.original(&sha).await.unwrap(), None);
    ledger.keep_original(&sha, &bytes, Timestamp(1)).await.unwrap();
    ledger.keep_original(&sha, &bytes, Timestamp(2)).await.expect("keeping it again is a no-op");
    assert_eq!(ledger.original(&sha).await.unwrap().as_deref(), Some(bytes.as_slice()));
    let mut raw = db.raw().await;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM originals").fetch_one(&mut raw).await.unwrap();
    assert_eq!(count, 1, "one row per hash");
    // Nothing names it (no stamping, no draft): nothing needs it, and the retention removal
    // takes it; a hash that was never kept is simply not removed.
    let (cutoff, draft_cutoff) = (Timestamp(10), Timestamp(10));
    assert_eq!(ledger.unneeded_originals(&[sha, [8u8; 32]], cutoff, draft_cutoff, Unneeded::List).await.unwrap(), vec![sha, [8u8; 32]]);
    let removed = ledger.unneeded_originals(&[sha, [8u8; 32]], cutoff, draft_cutoff, Unneeded::Delete).await.unwrap();
    assert_eq!(removed, vec![sha]);
    assert!(ledger.unneeded_originals(&[sha], cutoff, draft_cutoff, Unneeded::Delete).await.unwrap().is_empty(), "already gone");
    assert_eq!(ledger.original(&sha).await.unwrap(), None);
    db.cleanup().await;
}
on_both_backends!(
    an_original_is_kept_once_by_its_hash_read_back_byte_for_byte_and_removed,
    crate::an_original_is_kept_once_by_its_hash_read_back_byte_for_byte_and_removed
);
