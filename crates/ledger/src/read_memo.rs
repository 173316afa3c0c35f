//! What this process's PostgreSQL writers last saw of the rows their batches read and wrote,
//! so that a batch of the usual kind (reserve, post, void, begin a stamping) can skip its
//! reads: it applies its operations to the remembered rows and goes straight to the write.
//!
//! The memo is a guess, never trusted. Another writer or node may have changed any row since,
//! and the memo does not know. Two things make a wrong guess cost a retry and nothing else:
//! - Every write a batch makes is already conditional on what it read (see
//!   `crate::postgres_batch::commit`): a reservation still pending, an account within its
//!   limits afterwards, ids and keys not taken. A guess that no longer holds makes the write
//!   statement undo itself; the writer then runs the batch again from fresh reads.
//! - Only a batch in which every operation is granted is written from the memo
//!   ([`crate::batch::Applied::all_granted`]). A refusal (no quota left, a reservation
//!   already resolved) is always decided from fresh reads, so it is never the memo's.
//!
//! The memo holds the accounts' balances as the last batch of this process computed them and
//! the reservations this process made that are, as far as it knows, still pending. It forgets
//! the rows of any batch whose write failed, and everything when it is full.
//!
//! Measured (BENCHMARKS.md, ledger run 10): one round trip fewer for most batches.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::batch::{Entry, Learned, Op, Read};
use crate::types::{AccountId, Balance, TransferId};

/// Accounts remembered at most; past it, the memo starts over. A balance is ~64 bytes, so
/// this bounds the accounts to a few MB.
pub const MEMO_ACCOUNTS_MAX: usize = 50_000;
/// Pending reservations remembered at most; past it, the memo starts over. A reservation is a
/// few hundred bytes with its texts, so this bounds them to ~10-20 MB. Reservations resolve
/// within seconds, or the sweeper (perhaps another node's) expires them; those another node
/// resolved stay until the memo starts over.
pub const MEMO_RESERVATIONS_MAX: usize = 50_000;

/// See the module documentation. Shared by the writers of one process.
#[derive(Debug, Default)]
pub(crate) struct ReadMemo {
    /// Held only to copy rows in or out: no await, no I/O under it.
    rows: Mutex<Rows>,
}

#[derive(Debug, Default)]
struct Rows {
    /// Balances by account, as the last batch that moved or read the account computed them.
    accounts: HashMap<AccountId, Balance>,
    /// Reservations made here, by id, until a batch of this process resolves them.
    reserved: HashMap<TransferId, Entry>,
}

impl ReadMemo {
    /// What reading for `ops` would give, from the memo, if it holds every row they need;
    /// `None` if any operation is of another kind or needs a row the memo does not hold.
    /// Transfer ids the operations bring are taken to be new (the insert's primary key checks
    /// it), and so are stampings' Idempotency-Keys (a unique index checks them).
    pub(crate) fn read_for(&self, ops: &[Op]) -> Option<Read> {
        let rows = self.rows.lock().ok()?;
        let mut entries = HashMap::new();
        let mut accounts: Vec<AccountId> = Vec::new();
        for op in ops {
            match op {
                Op::Reserve(r) | Op::BeginStamping(_, r) => {
                    if let Some(existing) = rows.reserved.get(&r.id) {
                        // A repeat of a reservation made here: answered from it, as a read would.
                        entries.insert(r.id, existing.clone());
                    }
                    accounts.extend([r.account, AccountId::CONSUMED]);
                }
                Op::Post(p, _) => {
                    let entry = rows.reserved.get(&p.pending_id)?;
                    accounts.extend([entry.transfer.debit_account, entry.transfer.credit_account]);
                    entries.insert(p.pending_id, entry.clone());
                }
                Op::Void(v) => {
                    let entry = rows.reserved.get(&v.pending_id)?;
                    accounts.extend([entry.transfer.debit_account, entry.transfer.credit_account]);
                    entries.insert(v.pending_id, entry.clone());
                }
                Op::Mint(_) | Op::Grant(_) | Op::Hold(_) | Op::Credit(_) | Op::Expire(_) => return None,
            }
        }
        accounts.sort_unstable();
        accounts.dedup();
        let balances = accounts.iter().map(|id| rows.accounts.get(id).copied()).collect::<Option<Vec<Balance>>>()?;
        Some(Read { entries, balances, stamping_keys: HashMap::new() })
    }

    /// Remembers what a committed batch left behind.
    pub(crate) fn learn(&self, learned: Learned) {
        let Ok(mut rows) = self.rows.lock() else { return };
        if rows.accounts.len() + learned.balances.len() > MEMO_ACCOUNTS_MAX
            || rows.reserved.len() + learned.reserved.len() > MEMO_RESERVATIONS_MAX
        {
            *rows = Rows::default();
        }
        for balance in learned.balances {
            rows.accounts.insert(balance.account, balance);
        }
        for id in learned.resolved {
            rows.reserved.remove(&id);
        }
        for entry in learned.reserved {
            rows.reserved.insert(entry.transfer.id, entry);
        }
    }

    /// Forgets every row `ops` used: their batch's write failed, so at least one of them may
    /// be out of date, and the next batch that needs them reads them afresh.
    pub(crate) fn forget(&self, ops: &[Op]) {
        let Ok(mut rows) = self.rows.lock() else { return };
        for op in ops {
            match op {
                Op::Reserve(r) | Op::BeginStamping(_, r) => {
                    rows.accounts.remove(&r.account);
                    rows.reserved.remove(&r.id);
                }
                Op::Post(p, _) => forget_reservation(&mut rows, p.pending_id),
                Op::Void(v) => forget_reservation(&mut rows, v.pending_id),
                Op::Mint(_) | Op::Grant(_) | Op::Hold(_) | Op::Credit(_) | Op::Expire(_) => {}
            }
        }
    }
}

/// Forgets a reservation and the accounts it moves.
fn forget_reservation(rows: &mut Rows, id: TransferId) {
    if let Some(entry) = rows.reserved.remove(&id) {
        rows.accounts.remove(&entry.transfer.debit_account);
        rows.accounts.remove(&entry.transfer.credit_account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{AccountKind, Reserve};

    fn balance(id: i64) -> Balance {
        Balance {
            account: AccountId(id),
            kind: AccountKind::Quota,
            debits_must_not_exceed_credits: true,
            debits_pending: 0,
            debits_posted: 0,
            credits_pending: 0,
            credits_posted: 5,
        }
    }

    fn reserve(id: u128, account: i64) -> Op {
        Op::Reserve(Reserve { id: TransferId(id), account: AccountId(account), timeout_ms: 1_000, reference: String::new() })
    }

    fn learn_balances(memo: &ReadMemo, ids: impl Iterator<Item = i64>) {
        memo.learn(Learned { balances: ids.map(balance).collect(), ..Learned::default() });
    }

    #[test]
    fn a_batch_is_started_from_memory_only_when_every_row_it_needs_is_remembered() {
        let memo = ReadMemo::default();
        assert!(memo.read_for(&[reserve(1, 100)]).is_none(), "nothing remembered yet");
        learn_balances(&memo, [100].into_iter());
        assert!(memo.read_for(&[reserve(1, 100)]).is_none(), "the consumed account is not remembered");
        learn_balances(&memo, [AccountId::CONSUMED.0, 101].into_iter());
        let read = memo.read_for(&[reserve(1, 100), reserve(2, 101)]).expect("both owners and the consumed account");
        let mut accounts: Vec<i64> = read.balances.iter().map(|b| b.account.0).collect();
        accounts.sort_unstable();
        assert_eq!(accounts, vec![AccountId::CONSUMED.0, 100, 101], "each account once");
        assert!(read.entries.is_empty() && read.stamping_keys.is_empty(), "new ids and keys are left to the database");
        assert!(memo.read_for(&[reserve(1, 100), reserve(3, 102)]).is_none(), "one owner not remembered");
        let mint = Op::Mint(crate::types::Mint { id: TransferId(4), units: 1, note: String::new() });
        assert!(memo.read_for(&[reserve(1, 100), mint]).is_none(), "mints always read");
    }

    #[test]
    fn a_failed_write_forgets_the_owners_it_used_and_the_memo_starts_over_when_full() {
        let memo = ReadMemo::default();
        learn_balances(&memo, [AccountId::CONSUMED.0, 100, 101].into_iter());
        memo.forget(&[reserve(1, 100)]);
        assert!(memo.read_for(&[reserve(1, 100)]).is_none(), "forgotten");
        assert!(memo.read_for(&[reserve(2, 101)]).is_some(), "not used by the failed batch");

        learn_balances(&memo, (1_000..).take(MEMO_ACCOUNTS_MAX - 2));
        assert_eq!(memo.rows.lock().unwrap().accounts.len(), MEMO_ACCOUNTS_MAX, "full, not over");
        learn_balances(&memo, [100].into_iter());
        assert_eq!(memo.rows.lock().unwrap().accounts.len(), 1, "started over with the batch's one account");
    }
}
