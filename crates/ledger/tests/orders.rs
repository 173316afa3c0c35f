//! Orders on the ledger, on SQLite and PostgreSQL: stock held for the buyer, credited exactly
//! once (whoever credits, however often), expired or closed holds back in stock, the audit
//! clean throughout.

mod common;

use common::{Kind, TestDb, clock};
use meterai_core::Rupiah;
use meterai_ledger::orders::{Crediting, NewOrder, OrderState, credit_id};
use meterai_ledger::*;

const MINUTE_MS: i64 = 60_000;

fn new_order(n: u128, units: i64) -> NewOrder {
    NewOrder {
        hold_id: TransferId(0xABCD_0000 + n),
        units,
        unit_price: Rupiah(10_000),
        fee: Rupiah(2_500),
        pay_within_ms: 15 * MINUTE_MS,
        hold_grace_ms: 5 * MINUTE_MS,
    }
}

async fn setup(
    db: &TestDb,
    stock: i64,
) -> (Ledger, User, std::sync::Arc<meterai_core::ManualClock>) {
    let clock = clock();
    let ledger = db.ledger(clock.clone()).await;
    ledger
        .mint(Mint {
            id: TransferId(1),
            units: stock,
            note: "batch".into(),
        })
        .await
        .unwrap();
    let (user, _) = ledger.create_user("buyer@example.com").await.unwrap();
    (ledger, user, clock)
}

async fn available(ledger: &Ledger, user: &User) -> i64 {
    ledger
        .balance(user.quota_account)
        .await
        .unwrap()
        .unwrap()
        .available()
}

async fn an_order_holds_stock_and_its_credit_lands_once_however_often_it_is_run(kind: Kind) {
    let db = TestDb::fresh(kind).await;
    let (node_a, user, clock) = setup(&db, 10).await;
    let node_b = db.ledger(clock.clone()).await;
    let order = node_a.create_order(&user, new_order(1, 3)).await.unwrap();
    assert_eq!(order.state, OrderState::Created);
    assert_eq!(
        order.gross_amount,
        Rupiah(32_500),
        "3 x Rp 10,000 + Rp 2,500"
    );
    assert_eq!(
        node_a.stock_level().await.unwrap(),
        7,
        "the held units are not for sale"
    );
    assert_eq!(
        available(&node_a, &user).await,
        0,
        "nor usable before payment"
    );
    node_a
        .order_submitted(&order.id, "tok", "http://pay")
        .await
        .unwrap();
    // Both nodes hear of the payment at once, and each hears it twice.
    let (a1, b1, a2, b2) = tokio::join!(
        node_a.order_paid(&order.id, "settlement", Some("qris")),
        node_b.order_paid(&order.id, "settlement", Some("qris")),
        node_a.order_paid(&order.id, "settlement", Some("qris")),
        node_b.order_paid(&order.id, "settlement", Some("qris")),
    );
    for result in [a1, b1, a2, b2] {
        assert!(matches!(result.unwrap(), Crediting::Credited(_)));
    }
    let order = node_a.order(&order.id).await.unwrap().unwrap();
    assert_eq!(order.state, OrderState::Credited);
    assert_eq!(order.credit_transfer_id, Some(credit_id(order.hold_id)));
    assert_eq!(available(&node_a, &user).await, 3);
    assert_eq!(node_a.stock_level().await.unwrap(), 7);
    let history = node_a.history(user.quota_account, 10).await.unwrap();
    assert_eq!(
        history.iter().map(|m| m.available_delta).sum::<i64>(),
        3,
        "the history shows the credit once"
    );
    // Late and backward news changes nothing.
    let late = node_b
        .order_closed(&order.id, OrderState::Expired, "expire")
        .await
        .unwrap();
    assert_eq!(late.order().state, OrderState::Credited);
    assert!(matches!(late, orders::Moved::Ignored(_)));
    clock.advance(60 * MINUTE_MS);
    assert_eq!(
        node_a.sweep_expired().await.unwrap(),
        0,
        "a credited hold is not expired"
    );
    assert!(node_a.audit().await.unwrap().is_clean());
    db.cleanup().await;
}
on_both_backends!(
    an_order_holds_stock_and_its_credit_lands_once_however_often_it_is_run,
    crate::an_order_holds_stock_and_its_credit_lands_once_however_often_it_is_run
);

async fn out_of_stock_is_refused_before_anything_is_recorded(kind: Kind) {
    let db = TestDb::fresh(kind).await;
    let (ledger, user, _) = setup(&db, 5).await;
    ledger.create_order(&user, new_order(1, 4)).await.unwrap();
    let err = ledger
        .create_order(&user, new_order(2, 2))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "INSUFFICIENT_STOCK");
    assert!(
        ledger
            .order(&orders::order_id(TransferId(0xABCD_0002)))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        ledger
            .create_order(&user, new_order(3, 0))
            .await
            .unwrap_err()
            .code(),
        "INVALID_UNITS"
    );
    assert_eq!(ledger.stock_level().await.unwrap(), 1);
    assert!(ledger.audit().await.unwrap().is_clean());
    db.cleanup().await;
}
on_both_backends!(
    out_of_stock_is_refused_before_anything_is_recorded,
    crate::out_of_stock_is_refused_before_anything_is_recorded
);

async fn a_closed_or_abandoned_order_returns_its_stock_and_is_never_credited(kind: Kind) {
    let db = TestDb::fresh(kind).await;
    let (ledger, user, clock) = setup(&db, 10).await;
    let expired = ledger.create_order(&user, new_order(1, 2)).await.unwrap();
    ledger.create_order(&user, new_order(2, 3)).await.unwrap();
    assert_eq!(ledger.stock_level().await.unwrap(), 5);
    let moved = ledger
        .order_closed(&expired.id, OrderState::Expired, "expire")
        .await
        .unwrap();
    assert_eq!(moved.order().state, OrderState::Expired);
    assert_eq!(ledger.stock_level().await.unwrap(), 7);
    // A settlement after the expiry (a replayed notification) credits nothing.
    assert!(matches!(
        ledger
            .order_paid(&expired.id, "settlement", None)
            .await
            .unwrap(),
        Crediting::NotPaid(_)
    ));
    // The abandoned one: its hold times out and the sweeper returns the stock.
    clock.advance(20 * MINUTE_MS + 1);
    assert_eq!(ledger.sweep_expired().await.unwrap(), 1);
    assert_eq!(ledger.stock_level().await.unwrap(), 10);
    assert_eq!(available(&ledger, &user).await, 0);
    assert!(ledger.audit().await.unwrap().is_clean());
    db.cleanup().await;
}
on_both_backends!(
    a_closed_or_abandoned_order_returns_its_stock_and_is_never_credited,
    crate::a_closed_or_abandoned_order_returns_its_stock_and_is_never_credited
);

async fn a_payment_confirmed_after_the_hold_timed_out_is_credited_from_stock_once(kind: Kind) {
    let db = TestDb::fresh(kind).await;
    let (ledger, user, clock) = setup(&db, 4).await;
    let order = ledger.create_order(&user, new_order(1, 3)).await.unwrap();
    clock.advance(20 * MINUTE_MS + 1);
    // Before and after the sweeper ran: both paths end in one credit.
    let first = ledger
        .order_paid(&order.id, "settlement", None)
        .await
        .unwrap();
    assert!(matches!(first, Crediting::Credited(_)), "{first:?}");
    ledger.sweep_expired().await.unwrap();
    ledger
        .order_paid(&order.id, "settlement", None)
        .await
        .unwrap();
    assert_eq!(available(&ledger, &user).await, 3);
    assert_eq!(ledger.stock_level().await.unwrap(), 1);
    // With the stock gone, a late payment waits (paid) instead of overselling.
    let other = ledger.create_order(&user, new_order(2, 1)).await.unwrap();
    clock.advance(20 * MINUTE_MS + 1);
    ledger.sweep_expired().await.unwrap();
    ledger
        .grant(Grant {
            id: TransferId(77),
            to: user.quota_account,
            units: 1,
            reason: "sold elsewhere".into(),
            reference: String::new(),
        })
        .await
        .unwrap();
    let waiting = ledger
        .order_paid(&other.id, "settlement", None)
        .await
        .unwrap();
    assert!(
        matches!(waiting, Crediting::AwaitingStock(ref o) if o.state == OrderState::Paid),
        "{waiting:?}"
    );
    ledger
        .mint(Mint {
            id: TransferId(78),
            units: 1,
            note: "more".into(),
        })
        .await
        .unwrap();
    let order = ledger.order(&other.id).await.unwrap().unwrap();
    assert!(matches!(
        ledger.credit_order(&order).await.unwrap(),
        Crediting::Credited(_)
    ));
    assert_eq!(available(&ledger, &user).await, 5);
    assert_eq!(ledger.stock_level().await.unwrap(), 0);
    assert!(ledger.audit().await.unwrap().is_clean());
    db.cleanup().await;
}
on_both_backends!(
    a_payment_confirmed_after_the_hold_timed_out_is_credited_from_stock_once,
    crate::a_payment_confirmed_after_the_hold_timed_out_is_credited_from_stock_once
);

async fn a_stamp_cannot_post_a_hold_nor_a_credit_a_reservation(kind: Kind) {
    let db = TestDb::fresh(kind).await;
    let (ledger, user, _) = setup(&db, 10).await;
    let order = ledger.create_order(&user, new_order(1, 2)).await.unwrap();
    let stamp = StampBinding {
        doc_sha256: [1; 32],
        doc_type: meterai_core::DocType::Statement,
        stamped_at: common::T0,
    };
    let err = ledger
        .post(Post {
            id: TransferId(500),
            pending_id: order.hold_id,
            stamp,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), "PENDING_NOT_FOUND");
    ledger
        .grant(Grant {
            id: TransferId(501),
            to: user.quota_account,
            units: 1,
            reason: "t".into(),
            reference: String::new(),
        })
        .await
        .unwrap();
    let reservation = Reserve {
        id: TransferId(502),
        account: user.quota_account,
        timeout_ms: MINUTE_MS,
        reference: "s".into(),
    };
    ledger.reserve(reservation).await.unwrap();
    let err = ledger
        .credit(Credit {
            id: TransferId(503),
            pending_id: TransferId(502),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), "PENDING_NOT_FOUND");
    assert!(ledger.audit().await.unwrap().is_clean());
    db.cleanup().await;
}
on_both_backends!(
    a_stamp_cannot_post_a_hold_nor_a_credit_a_reservation,
    crate::a_stamp_cannot_post_a_hold_nor_a_credit_a_reservation
);
