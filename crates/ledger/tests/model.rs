//! Model-based property test: random sequences of mint / grant / reserve / post / void /
//! hold (an order's stock) / credit / timeout (clock + sweeper) / repeated and conflicting ids
//! run against the real store and a small in-memory model, compared after every step, on
//! SQLite and PostgreSQL.

mod common;

use std::collections::{HashMap, HashSet};

use common::{Kind, TestDb, clock};
use meterai_core::DocType;
use meterai_ledger::*;
use proptest::prelude::*;

const USERS: usize = 2;

#[derive(Debug, Clone)]
enum Step {
    Mint(i64),
    Grant(usize, i64),
    Reserve(usize, i64),
    Post(usize),
    Void(usize),
    PostUnknown,
    /// Time passes; reservations may be due but not yet swept.
    Advance(i64),
    /// The sweeper runs.
    Sweep,
    Repeat(usize),
    Conflict(usize),
    /// An order holds stock for a user.
    Hold(usize, i64, i64),
    /// Credit a hold (even) or, wrongly, a reservation (odd).
    Credit(usize),
    /// Void a hold.
    VoidHold(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => (1i64..8).prop_map(Step::Mint),
        2 => (0..USERS, 1i64..5).prop_map(|(u, n)| Step::Grant(u, n)),
        4 => (0..USERS, 1i64..2_000).prop_map(|(u, t)| Step::Reserve(u, t)),
        3 => (0usize..64).prop_map(Step::Post),
        2 => (0usize..64).prop_map(Step::Void),
        1 => Just(Step::PostUnknown),
        2 => (0i64..1_500).prop_map(Step::Advance),
        1 => Just(Step::Sweep),
        2 => (0usize..64).prop_map(Step::Repeat),
        1 => (0usize..64).prop_map(Step::Conflict),
        2 => (0..USERS, 1i64..4, 1i64..2_000).prop_map(|(u, n, t)| Step::Hold(u, n, t)),
        2 => (0usize..64).prop_map(Step::Credit),
        1 => (0usize..64).prop_map(Step::VoidHold),
    ]
}

/// A request as both sides see it.
#[derive(Debug, Clone, PartialEq)]
enum Request {
    Mint(Mint),
    Grant(Grant),
    Reserve(Reserve),
    Post(Post),
    Void(Void),
    Hold(Hold),
    Credit(Credit),
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Held {
    user: usize,
    expires_at: i64,
    status: PendingStatus,
    /// Units of an order's hold of stock; 0 for a stamping's reservation (one unit of quota).
    hold_units: i64,
}

/// The model: what the ledger must do, written as plainly as possible.
#[derive(Default)]
struct Model {
    now: i64,
    stock: i64,
    minted: i64,
    available: [i64; USERS],
    pending: [i64; USERS],
    posted: [i64; USERS],
    /// Units held in stock for each user's orders.
    incoming: [i64; USERS],
    held: HashMap<TransferId, Held>,
    done: HashMap<TransferId, Request>,
}

impl Model {
    /// The outcome code ("OK" or the error code).
    fn apply(&mut self, request: &Request, accounts: &[AccountId; USERS]) -> &'static str {
        let id = match request {
            Request::Mint(m) => m.id,
            Request::Grant(g) => g.id,
            Request::Reserve(r) => r.id,
            Request::Post(p) => p.id,
            Request::Void(v) => v.id,
            Request::Hold(h) => h.id,
            Request::Credit(c) => c.id,
        };
        if let Some(previous) = self.done.get(&id) {
            return if previous == request { "OK" } else { "ID_CONFLICT" };
        }
        let user_of = |account: AccountId| accounts.iter().position(|&a| a == account).unwrap_or(0);
        let outcome = match request {
            Request::Mint(m) => {
                self.stock += m.units;
                self.minted += m.units;
                "OK"
            }
            Request::Grant(g) if self.stock < g.units => "INSUFFICIENT_STOCK",
            Request::Grant(g) => {
                self.stock -= g.units;
                self.available[user_of(g.to)] += g.units;
                "OK"
            }
            Request::Reserve(r) => {
                let user = user_of(r.account);
                if self.available[user] < 1 {
                    "INSUFFICIENT_QUOTA"
                } else {
                    self.available[user] -= 1;
                    self.pending[user] += 1;
                    let held = Held { user, expires_at: self.now + r.timeout_ms, status: PendingStatus::Pending, hold_units: 0 };
                    self.held.insert(r.id, held);
                    "OK"
                }
            }
            Request::Post(p) => self.resolve(p.pending_id, Some(false)),
            Request::Void(v) => self.resolve(v.pending_id, None),
            Request::Hold(h) if self.stock < h.units => "INSUFFICIENT_STOCK",
            Request::Hold(h) => {
                let user = user_of(h.to);
                self.stock -= h.units;
                self.incoming[user] += h.units;
                let held = Held { user, expires_at: self.now + h.timeout_ms, status: PendingStatus::Pending, hold_units: h.units };
                self.held.insert(h.id, held);
                "OK"
            }
            Request::Credit(c) => self.resolve(c.pending_id, Some(true)),
        };
        if outcome == "OK" {
            self.done.insert(id, request.clone());
        }
        outcome
    }

    /// `post`: `None` voids, `Some(false)` posts a stamp, `Some(true)` credits a hold.
    fn resolve(&mut self, pending_id: TransferId, post: Option<bool>) -> &'static str {
        let now = self.now;
        let Some(held) = self.held.get_mut(&pending_id) else { return "PENDING_NOT_FOUND" };
        if held.status != PendingStatus::Pending {
            return "PENDING_ALREADY_RESOLVED";
        }
        if post.is_some_and(|credit| credit != (held.hold_units > 0)) {
            return "PENDING_NOT_FOUND";
        }
        if post.is_some() && now >= held.expires_at {
            return "PENDING_EXPIRED";
        }
        let post = post.is_some();
        held.status = if post { PendingStatus::Posted } else { PendingStatus::Voided };
        let user = held.user;
        if held.hold_units > 0 {
            let units = held.hold_units;
            self.incoming[user] -= units;
            if post {
                self.available[user] += units;
            } else {
                self.stock += units;
            }
            return "OK";
        }
        self.pending[user] -= 1;
        if post {
            self.posted[user] += 1;
        } else {
            self.available[user] += 1;
        }
        "OK"
    }

    fn sweep(&mut self) -> usize {
        let now = self.now;
        let mut expired = 0;
        for held in self.held.values_mut() {
            if held.status == PendingStatus::Pending && now >= held.expires_at {
                held.status = PendingStatus::Expired;
                if held.hold_units > 0 {
                    self.incoming[held.user] -= held.hold_units;
                    self.stock += held.hold_units;
                } else {
                    self.pending[held.user] -= 1;
                    self.available[held.user] += 1;
                }
                expired += 1;
            }
        }
        expired
    }
}

async fn submit(ledger: &Ledger, request: &Request) -> (&'static str, Option<Receipt>) {
    let result = match request.clone() {
        Request::Mint(m) => ledger.mint(m).await,
        Request::Grant(g) => ledger.grant(g).await,
        Request::Reserve(r) => ledger.reserve(r).await,
        Request::Post(p) => ledger.post(p).await,
        Request::Void(v) => ledger.void(v).await,
        Request::Hold(h) => ledger.hold(h).await,
        Request::Credit(c) => ledger.credit(c).await,
    };
    match result {
        Ok(receipt) => ("OK", Some(receipt)),
        Err(e) => (e.code(), None),
    }
}

fn conflicting(request: &Request) -> Request {
    match request.clone() {
        Request::Mint(m) => Request::Mint(Mint { units: m.units + 1, ..m }),
        Request::Grant(g) => Request::Grant(Grant { reason: format!("{} again", g.reason), ..g }),
        Request::Reserve(r) => Request::Reserve(Reserve { timeout_ms: r.timeout_ms + 1, ..r }),
        Request::Post(p) => Request::Post(Post { pending_id: TransferId(p.pending_id.0 + 1), ..p }),
        Request::Void(v) => Request::Void(Void { reason: format!("{} again", v.reason), ..v }),
        Request::Hold(h) => Request::Hold(Hold { units: h.units + 1, ..h }),
        Request::Credit(c) => Request::Credit(Credit { pending_id: TransferId(c.pending_id.0 + 1), ..c }),
    }
}

async fn run_case(kind: Kind, steps: Vec<Step>) -> Result<(), TestCaseError> {
    let db = TestDb::fresh(kind).await;
    let clock = clock();
    let ledger = db.ledger(clock.clone()).await;
    let mut accounts = [AccountId(0); USERS];
    for (i, slot) in accounts.iter_mut().enumerate() {
        *slot = ledger.create_user(&format!("user{i}@example.id")).await.unwrap().0.quota_account;
    }
    let mut model = Model { now: common::T0.0, ..Model::default() };
    let mut history: Vec<Request> = Vec::new();
    let mut reservations: Vec<TransferId> = Vec::new();
    let mut holds: Vec<TransferId> = Vec::new();
    let mut serials: HashMap<TransferId, meterai_core::Serial> = HashMap::new();
    let mut next_id = 1u128;
    for step in steps {
        let mut fresh = || {
            next_id += 1;
            TransferId(next_id)
        };
        let request = match step {
            Step::Mint(units) => Some(Request::Mint(Mint { id: fresh(), units, note: "batch".into() })),
            Step::Grant(user, units) => Some(Request::Grant(Grant {
                id: fresh(),
                to: accounts[user],
                units,
                reason: "grant".into(),
                reference: String::new(),
            })),
            Step::Reserve(user, timeout_ms) => Some(Request::Reserve(Reserve {
                id: fresh(),
                account: accounts[user],
                timeout_ms,
                reference: "stamping".into(),
            })),
            Step::Post(i) if !reservations.is_empty() => Some(Request::Post(Post {
                id: fresh(),
                pending_id: reservations[i % reservations.len()],
                stamp: StampBinding { doc_sha256: [i as u8; 32], doc_type: DocType::Transaction, stamped_at: common::T0 },
            })),
            Step::Void(i) if !reservations.is_empty() => Some(Request::Void(Void {
                id: fresh(),
                pending_id: reservations[i % reservations.len()],
                reason: "failed".into(),
            })),
            Step::Hold(user, units, timeout_ms) => Some(Request::Hold(Hold {
                id: fresh(),
                to: accounts[user],
                units,
                timeout_ms,
                reference: "order".into(),
            })),
            Step::Credit(i) if i % 2 == 0 && !holds.is_empty() => {
                Some(Request::Credit(Credit { id: fresh(), pending_id: holds[i / 2 % holds.len()] }))
            }
            Step::Credit(i) if i % 2 == 1 && !reservations.is_empty() => {
                Some(Request::Credit(Credit { id: fresh(), pending_id: reservations[i / 2 % reservations.len()] }))
            }
            Step::VoidHold(i) if !holds.is_empty() => Some(Request::Void(Void {
                id: fresh(),
                pending_id: holds[i % holds.len()],
                reason: "order expired".into(),
            })),
            Step::PostUnknown => Some(Request::Void(Void { id: fresh(), pending_id: TransferId(u128::MAX), reason: String::new() })),
            Step::Repeat(i) if !history.is_empty() => Some(history[i % history.len()].clone()),
            Step::Conflict(i) if !history.is_empty() => Some(conflicting(&history[i % history.len()])),
            Step::Advance(ms) => {
                clock.advance(ms);
                model.now += ms;
                None
            }
            Step::Sweep => {
                let expired = ledger.sweep_expired().await.unwrap();
                prop_assert_eq!(expired, model.sweep(), "sweeper count at {}", model.now);
                None
            }
            _ => None,
        };
        if let Some(request) = request {
            let expected = model.apply(&request, &accounts);
            let (actual, receipt) = submit(&ledger, &request).await;
            prop_assert_eq!(actual, expected, "outcome of {:?}", request);
            if let (Some(receipt), Request::Reserve(r)) = (receipt, &request) {
                let serial = receipt.serial.expect("reservation has a serial");
                if let Some(known) = serials.insert(r.id, serial) {
                    prop_assert_eq!(known, serial, "a repeated reservation keeps its serial");
                } else {
                    reservations.push(r.id);
                }
            }
            if let (Request::Hold(h), "OK") = (&request, actual)
                && !holds.contains(&h.id)
            {
                holds.push(h.id);
            }
            history.push(request);
        }
        // Compare every balance after every step.
        prop_assert_eq!(ledger.stock_level().await.unwrap(), model.stock);
        for (user, account) in accounts.iter().enumerate() {
            let b = ledger.balance(*account).await.unwrap().unwrap();
            prop_assert_eq!(b.available(), model.available[user], "available of user {}", user);
            prop_assert_eq!(b.debits_pending, model.pending[user], "pending of user {}", user);
            prop_assert_eq!(b.debits_posted, model.posted[user], "posted of user {}", user);
            prop_assert_eq!(b.credits_pending, model.incoming[user], "held for user {}", user);
        }
    }
    let distinct: HashSet<_> = serials.values().collect();
    prop_assert_eq!(distinct.len(), serials.len(), "serial numbers are unique");
    for (id, serial) in &serials {
        prop_assert_eq!(model.held[id].hold_units, 0, "only reservations have serial numbers");
        let state = ledger.lookup_serial(serial).await.unwrap().unwrap().state;
        let expected = match model.held[id].status {
            PendingStatus::Pending => SerialState::Reserved,
            PendingStatus::Posted => SerialState::Stamped,
            PendingStatus::Voided | PendingStatus::Expired => SerialState::Void,
        };
        prop_assert_eq!(state, expected, "state of {}", serial);
    }
    let report = ledger.audit().await.unwrap();
    prop_assert!(report.is_clean(), "{:?}", report.violations);
    ledger.store().close().await;
    db.cleanup().await;
    Ok(())
}

fn run(kind: Kind, cases: u32) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let config = ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() };
    proptest!(config, |(steps in proptest::collection::vec(step(), 1..60))| {
        runtime.block_on(run_case(kind, steps))?;
    });
}

#[test]
fn the_sqlite_ledger_behaves_like_the_model() {
    run(Kind::Sqlite, 24);
}

#[test]
fn the_postgres_ledger_behaves_like_the_model() {
    run(Kind::Postgres, 24);
}
