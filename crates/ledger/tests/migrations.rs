//! Migrations applied to databases that already hold the books of an earlier schema, on SQLite
//! and on PostgreSQL: nothing is lost, and the ledger goes on from where it was.

mod common;

use common::{Kind, TestDb, clock, test_key};
use meterai_core::{DocType, Serial};
use meterai_ledger::*;

fn stamp(seed: u8) -> StampBinding {
    StampBinding { doc_sha256: [seed; 32], doc_type: DocType::Statement, stamped_at: common::T0 }
}

fn reserve(n: u128, user: &User) -> Reserve {
    Reserve { id: TransferId(n), account: user.quota_account, timeout_ms: 60_000, reference: format!("stamping-{n}") }
}

async fn start(store: Store) -> Ledger {
    let config = LedgerConfig { serial_key: Some(test_key()), ..LedgerConfig::default() };
    Ledger::start(store, clock(), config).await.expect("start ledger")
}

/// Serial numbers issued under schema 5 (keyed by their text) are found, keep their fate and
/// binding, and are never issued again once 0006 rekeys the registry by sequence number.
async fn serials_issued_before_the_rekeying_keep_their_fate_and_are_not_reissued(kind: Kind) {
    let db = TestDb::fresh(kind).await;
    let old = start(Store::open_at_version(&db.location, 5).await.expect("open at schema 5")).await;
    old.mint(Mint { id: TransferId(1), units: 10, note: "batch".into() }).await.unwrap();
    let (user, _) = old.create_user("early@example.com").await.unwrap();
    old.grant(Grant { id: TransferId(2), to: user.quota_account, units: 5, reason: "t".into(), reference: String::new() })
        .await
        .unwrap();
    let mut issued: Vec<Serial> = Vec::new();
    for n in 10..13 {
        issued.push(old.reserve(reserve(n, &user)).await.unwrap().serial.expect("a serial"));
    }
    old.post(Post { id: TransferId(20), pending_id: TransferId(10), stamp: stamp(7) }).await.unwrap();
    old.void(Void { id: TransferId(21), pending_id: TransferId(11), reason: "failed".into() }).await.unwrap();
    old.store().close().await;
    drop(old);

    let ledger = start(Store::open(&db.location).await.expect("migrate to the latest schema")).await;
    let stamped = ledger.lookup_serial(&issued[0]).await.unwrap().expect("the stamped SN is still issued");
    assert_eq!(stamped.state, SerialState::Stamped);
    assert_eq!((stamped.doc_sha256, stamped.doc_type), (Some([7; 32]), Some(DocType::Statement)));
    assert_eq!(ledger.lookup_serial(&issued[1]).await.unwrap().map(|s| s.state), Some(SerialState::Void));
    assert_eq!(ledger.lookup_serial(&issued[2]).await.unwrap().map(|s| s.state), Some(SerialState::Reserved));
    let next = ledger.reserve(reserve(13, &user)).await.unwrap().serial.expect("a serial");
    assert!(!issued.contains(&next), "{next} was issued before the migration");
    ledger.post(Post { id: TransferId(22), pending_id: TransferId(12), stamp: stamp(8) }).await.unwrap();
    assert_eq!(ledger.lookup_serial(&issued[2]).await.unwrap().map(|s| s.state), Some(SerialState::Stamped));
    let report = ledger.audit().await.unwrap();
    assert!(report.is_clean(), "{report:?}");
    ledger.store().close().await;
    db.cleanup().await;
}
on_both_backends!(serials_issued_before_the_rekeying_keep_their_fate_and_are_not_reissued, crate::serials_issued_before_the_rekeying_keep_their_fate_and_are_not_reissued);
