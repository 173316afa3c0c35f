//! Many tasks on two ledger instances ("nodes", each with its own writer) reserve, post and
//! void on a few accounts at once while a monitor watches every balance. Afterwards the audit
//! is clean and no balance ever went below its limit. Both backends.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{Kind, TestDb, clock};
use meterai_core::DocType;
use meterai_ledger::*;

const TASKS: u64 = 32;
const ROUNDS_PER_TASK: u64 = 40;
const USERS: usize = 3;

/// A tiny deterministic generator (xorshift64*), seeded per task.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

async fn many_tasks_on_few_accounts_keep_the_books(kind: Kind) {
    let db = TestDb::fresh(kind).await;
    let clock = clock();
    let node_a = db.ledger(clock.clone()).await;
    let node_b = db.ledger(clock.clone()).await;
    node_a.mint(Mint { id: TransferId(1), units: 10_000, note: "stock".into() }).await.unwrap();
    let mut accounts = Vec::new();
    for u in 0..USERS {
        let (user, _) = node_a.create_user(&format!("user{u}@example.id")).await.unwrap();
        // Less quota than the tasks want, so the limit is hit under contention.
        let grant = Grant { id: TransferId(10 + u as u128), to: user.quota_account, units: 20, reason: "test".into(), reference: String::new() };
        node_a.grant(grant).await.unwrap();
        accounts.push(user.quota_account);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let monitor = {
        let (ledger, stop) = (node_b.clone(), stop.clone());
        tokio::spawn(async move {
            let mut samples = 0u64;
            while !stop.load(Ordering::SeqCst) {
                for b in ledger.balances().await.unwrap() {
                    assert!(!b.debits_must_not_exceed_credits || b.available() >= 0, "{b:?} below its limit");
                }
                samples += 1;
                tokio::task::yield_now().await;
            }
            samples
        })
    };
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let ledger = if task % 2 == 0 { node_a.clone() } else { node_b.clone() };
        let accounts = accounts.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (task + 1));
            let mut refused = 0u64;
            for round in 0..ROUNDS_PER_TASK {
                let base = 1_000_000 + u128::from(task * 10_000 + round * 10);
                let account = accounts[(rng.next() % USERS as u64) as usize];
                let reserve = Reserve { id: TransferId(base), account, timeout_ms: 600_000, reference: String::new() };
                match ledger.reserve(reserve).await {
                    Ok(_) => {}
                    Err(LedgerError::InsufficientQuota { .. }) => {
                        refused += 1;
                        continue;
                    }
                    Err(e) => panic!("reserve failed: {e}"),
                }
                match rng.next() % 3 {
                    0 => {
                        let stamp = StampBinding { doc_sha256: [1; 32], doc_type: DocType::Transaction, stamped_at: common::T0 };
                        ledger.post(Post { id: TransferId(base + 1), pending_id: TransferId(base), stamp }).await.unwrap();
                    }
                    1 => {
                        ledger.void(Void { id: TransferId(base + 1), pending_id: TransferId(base), reason: "failed".into() }).await.unwrap();
                    }
                    // Leave it pending: the sweeper returns it later.
                    _ => {}
                }
            }
            refused
        }));
    }
    let mut refused = 0;
    for t in tasks {
        refused += t.await.unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    assert!(monitor.await.unwrap() > 0);
    assert!(refused > 0, "the test must hit the limit to prove it holds");
    let report = node_a.audit().await.unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);
    clock.advance(600_000);
    let (a, b) = tokio::join!(node_a.sweep_expired(), node_b.sweep_expired());
    a.unwrap();
    b.unwrap();
    for account in accounts {
        assert_eq!(node_a.balance(account).await.unwrap().unwrap().debits_pending, 0);
    }
    let report = node_b.audit().await.unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);
    db.cleanup().await;
}
on_both_backends!(many_tasks_on_few_accounts_keep_the_books, crate::many_tasks_on_few_accounts_keep_the_books);
