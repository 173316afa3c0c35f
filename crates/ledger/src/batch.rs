//! One batch of ledger operations applied in one database transaction (group commit).
//!
//! TigerBeetle's shape: read everything the batch touches (transfers by id, the reservations
//! they resolve, the accounts they move), apply the operations one after the other in memory,
//! then write the results back. This module is the backend-neutral part: what to read
//! ([`wanted`], [`wanted_accounts`]), the in-memory application ([`apply_ops`]) and the rows to
//! write ([`Applied::finish`], a [`WriteSet`] whose every value is a bind parameter). The
//! drivers run it: [`crate::sqlite_batch`] (rusqlite, prepared statements per row, in-process
//! and cheap) and [`crate::postgres_batch`] (arrays bound to constant statements, one round trip
//! per step).
//!
//! Correctness across processes comes from the database, not from this code running alone.
//! On PostgreSQL nothing is locked while a batch is applied (optimistic concurrency):
//! every write that depends on what was read says so in its WHERE (a reservation still
//! `pending`, a serial still `reserved`, a stamping still `processing`, an account still within
//! every CHECK on its row afterwards), transfer ids are primary keys, a reservation can be resolved by
//! one transfer only (unique index), and all writes are one statement that checks its own row
//! count and undoes itself on a mismatch. On SQLite the batch runs under `BEGIN IMMEDIATE`, the
//! single write lock. A batch that loses a race is rolled back and run again; the rerun sees
//! the winner's rows and answers idempotently.

use std::collections::{BTreeSet, HashMap};

use meterai_core::{Serial, SerialKey, Timestamp};

use crate::error::{LedgerError, StoreError};
use crate::rows::{Cells, TRANSFER_COLUMNS, Val, transfer_from_row, transfer_id_from};
use crate::store::hex;
use crate::types::{
    AccountId, AccountKind, Balance, Credit, Grant, Hold, Mint, PendingStatus, Post, Receipt, Reserve,
    StampBinding, Transfer, TransferId, TransferKind, Void,
};
use crate::stampings::NewStamping;
use crate::{RESERVE_TIMEOUT_MS_MAX, TEXT_BYTES_MAX, UNITS_PER_TRANSFER_MAX};

/// One queued operation.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    /// Issuer -> stock.
    Mint(Mint),
    /// Stock -> quota.
    Grant(Grant),
    /// Hold a unit and a serial number.
    Reserve(Reserve),
    /// Record a web stamping under its owner's Idempotency-Key and hold its unit and serial
    /// number (the reservation's id is the stamping's): one transaction, so there is never a
    /// stamping without its reservation nor a reservation without its stamping. A refused
    /// reservation records the stamping as failed; a used key answers with the earlier one.
    BeginStamping(Box<NewStamping>, Reserve),
    /// Consume a reservation; with the stamped revision (the web's stampings), its `stampings`
    /// row becomes `stamped` in the same transaction.
    Post(Post, Option<Vec<u8>>),
    /// Cancel a reservation or a hold.
    Void(Void),
    /// Hold stock for an owner (an order).
    Hold(Hold),
    /// Post a hold to the owner's quota (a paid order).
    Credit(Credit),
    /// The sweeper's: return the unit of a reservation whose timeout has passed.
    Expire(TransferId),
}

/// What the sweeper found when it tried to expire a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpireOutcome {
    /// The reservation was pending and due: its unit is back, its serial number void.
    Expired,
    /// Still within its timeout.
    NotDue,
    /// Already posted, voided or expired (by another node, or a client just before).
    AlreadyResolved,
    /// No such reservation.
    Unknown,
}

/// The answer to one operation.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // Lives only until the reply is sent; boxing buys nothing.
pub(crate) enum Done {
    /// For mint, grant, reserve, post and void.
    Receipt(Receipt),
    /// For the sweeper's expiry.
    Expire(ExpireOutcome),
    /// For a stamping's beginning.
    Stamping(StampingBegun),
}

/// What beginning a stamping did.
#[derive(Debug)]
pub(crate) enum StampingBegun {
    /// Recorded "processing" with its reservation (the receipt carries the serial number).
    Reserved(Receipt),
    /// Recorded "failed" with this error's code at this time: the reservation was refused.
    Refused(LedgerError, Timestamp),
    /// The owner's Idempotency-Key already names this stamping; nothing was written.
    Existing(TransferId),
}

/// Inputs every operation of a batch shares.
pub(crate) struct BatchContext<'a> {
    /// One time for the whole batch: creation times and expiry decisions agree.
    pub now: Timestamp,
    /// Permutes allocated sequence numbers into serial numbers.
    pub key: &'a SerialKey,
    /// The series of the serial numbers issued.
    pub series: &'a str,
    /// Where the changes of [`UNLIMITED_ACCOUNTS`] go: `None`, into their rows (SQLite's one
    /// writer); `Some(stripe)`, added to that stripe of them (PostgreSQL's writers, see
    /// migration 0005), so no batch waits for another on those rows.
    pub stripe: Option<i64>,
}

/// Accounts no limit applies to (issuer, consumed): nothing needs their exact balance under a
/// lock, so PostgreSQL's writers read them without one and change them in stripes.
pub(crate) const UNLIMITED_ACCOUNTS: [AccountId; 2] = [AccountId::ISSUER, AccountId::CONSUMED];

/// A reservation's mutable state (the `pending_transfers` row).
#[derive(Debug, Clone)]
struct PendingRow {
    expires_at: i64,
    status: PendingStatus,
    resolved_by: Option<TransferId>,
    resolved_at: Option<i64>,
    /// The binding from the post that stamped it, to write to the serial row.
    stamp: Option<StampBinding>,
    /// Changed by this batch (pre-existing rows only get an UPDATE when dirty).
    dirty: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The transfer as stored (or about to be).
    pub(crate) transfer: Transfer,
    /// Written by this batch (INSERT) rather than read from the database.
    is_new: bool,
    /// For reservations.
    pending: Option<PendingRow>,
    /// For reservations: the serial number (allocated at the end of the batch for new ones).
    serial: Option<Serial>,
}

impl Entry {
    /// This entry as reading its rows back would give it.
    fn as_stored(&self) -> Entry {
        let pending = self.pending.as_ref().map(|p| PendingRow { stamp: None, dirty: false, ..p.clone() });
        Entry { transfer: self.transfer.clone(), is_new: false, pending, serial: self.serial }
    }
}

#[derive(Debug, Clone)]
struct Account {
    /// The balance as of the operations applied so far (limits are checked against it).
    balance: Balance,
    /// Changes to debits_pending, debits_posted, credits_pending, credits_posted.
    delta: [i64; 4],
}

const DEBITS_PENDING: usize = 0;
const DEBITS_POSTED: usize = 1;
const CREDITS_PENDING: usize = 2;
const CREDITS_POSTED: usize = 3;

struct Working<'a> {
    /// Shared inputs of the batch.
    ctx: &'a BatchContext<'a>,
    /// Every transfer the batch read or made, by id: answers repeats and finds reservations.
    entries: HashMap<TransferId, Entry>,
    /// New transfers in the order they were made (inserts keep that order).
    new_order: Vec<TransferId>,
    /// Every account the batch touches, with its running balance and the change to write.
    accounts: HashMap<AccountId, Account>,
    /// Stampings whose reservation this batch posts with the stamped revision: their rows are
    /// marked stamped in the same transaction, so "unit consumed" and "stamping recorded"
    /// cannot be split by a crash or a failed write.
    stamped_records: Vec<StampedRecord>,
    /// Stampings recorded so far, by (owner, Idempotency-Key): read from the database for the
    /// batch's keys, plus the ones this batch records.
    stamping_keys: HashMap<StampingKey, TransferId>,
    /// Stampings this batch records, in order.
    new_stampings: Vec<NewStampingRow>,
}

/// A stamping's identity for its owner: (user id, Idempotency-Key).
pub(crate) type StampingKey = (i64, String);

/// A stamping row to insert.
struct NewStampingRow {
    /// What was asked.
    new: NewStamping,
    /// For a refused reservation: the code and message it is recorded failed with.
    failure: Option<(&'static str, String)>,
}

/// The code a stamping whose reservation was refused is recorded with: the user's own
/// situation (no quota) is told as such; anything else is ours.
pub(crate) fn refusal_code(error: &LedgerError) -> &'static str {
    match error {
        LedgerError::InsufficientQuota { .. } => error.code(),
        _ => "INTERNAL",
    }
}

/// A stamping row to mark stamped together with its post.
struct StampedRecord {
    /// The stamping's id (= its reservation's).
    stamping: TransferId,
    /// SHA-256 of the stamped document.
    doc_sha256: [u8; 32],
    /// The appended revision, kept forever.
    tail: Vec<u8>,
}

fn check_tail(tail: &[u8]) -> Result<(), LedgerError> {
    if tail.len() > crate::stampings::TAIL_BYTES_MAX {
        return Err(LedgerError::TextTooLong { field: "tail", max: crate::stampings::TAIL_BYTES_MAX });
    }
    Ok(())
}

pub(crate) fn check_text(field: &'static str, text: &str) -> Result<(), LedgerError> {
    if text.len() > TEXT_BYTES_MAX {
        return Err(LedgerError::TextTooLong { field, max: TEXT_BYTES_MAX });
    }
    // PostgreSQL cannot store NUL in text; refuse it on both backends alike.
    if text.contains('\0') {
        return Err(LedgerError::InvalidText { field });
    }
    Ok(())
}

fn check_units(units: i64) -> Result<(), LedgerError> {
    if !(1..=UNITS_PER_TRANSFER_MAX).contains(&units) {
        return Err(LedgerError::InvalidUnits { units, max: UNITS_PER_TRANSFER_MAX });
    }
    Ok(())
}

/// The first field in which a repeated request differs from the stored transfer.
fn differing_field(stored: &Transfer, op: &Op) -> Option<&'static str> {
    let kind = match op {
        Op::Mint(_) => TransferKind::Mint,
        Op::Grant(_) => TransferKind::Grant,
        Op::Reserve(_) | Op::BeginStamping(..) => TransferKind::Reserve,
        Op::Post(..) => TransferKind::Post,
        Op::Void(_) => TransferKind::Void,
        Op::Hold(_) => TransferKind::Reserve,
        Op::Credit(_) => TransferKind::Post,
        Op::Expire(_) => return None,
    };
    if stored.kind != kind {
        return Some("kind");
    }
    let checks: Vec<(&'static str, bool)> = match op {
        Op::Mint(m) => vec![("units", stored.amount == m.units), ("note", stored.reason == m.note)],
        Op::Grant(g) => vec![
            ("to", stored.credit_account == g.to),
            ("units", stored.amount == g.units),
            ("reason", stored.reason == g.reason),
            ("reference", stored.reference == g.reference),
        ],
        Op::Reserve(r) | Op::BeginStamping(_, r) => vec![
            ("account", stored.debit_account == r.account),
            ("timeout_ms", stored.timeout_ms == Some(r.timeout_ms)),
            ("reference", stored.reference == r.reference),
        ],
        Op::Post(p, _) => vec![
            ("pending_id", stored.pending_id == Some(p.pending_id)),
            ("doc_sha256", stored.stamp.map(|s| s.doc_sha256) == Some(p.stamp.doc_sha256)),
            ("doc_type", stored.stamp.map(|s| s.doc_type) == Some(p.stamp.doc_type)),
            ("stamped_at", stored.stamp.map(|s| s.stamped_at) == Some(p.stamp.stamped_at)),
        ],
        Op::Void(v) => {
            vec![("pending_id", stored.pending_id == Some(v.pending_id)), ("reason", stored.reason == v.reason)]
        }
        Op::Hold(h) => vec![
            ("debit_account", stored.debit_account == AccountId::STOCK),
            ("to", stored.credit_account == h.to),
            ("units", stored.amount == h.units),
            ("timeout_ms", stored.timeout_ms == Some(h.timeout_ms)),
            ("reference", stored.reference == h.reference),
        ],
        Op::Credit(c) => vec![("pending_id", stored.pending_id == Some(c.pending_id)), ("stamp", stored.stamp.is_none())],
        Op::Expire(_) => vec![],
    };
    checks.into_iter().find(|(_, same)| !same).map(|(field, _)| field)
}

fn op_id(op: &Op) -> Option<TransferId> {
    match op {
        Op::Mint(m) => Some(m.id),
        Op::Grant(g) => Some(g.id),
        Op::Reserve(r) | Op::BeginStamping(_, r) => Some(r.id),
        Op::Post(p, _) => Some(p.id),
        Op::Void(v) => Some(v.id),
        Op::Hold(h) => Some(h.id),
        Op::Credit(c) => Some(c.id),
        Op::Expire(_) => None,
    }
}

fn op_pending_id(op: &Op) -> Option<TransferId> {
    match op {
        Op::Post(p, _) => Some(p.pending_id),
        Op::Void(v) => Some(v.pending_id),
        Op::Credit(c) => Some(c.pending_id),
        Op::Expire(id) => Some(*id),
        _ => None,
    }
}

impl Working<'_> {
    fn account(&mut self, id: AccountId) -> Option<&mut Account> {
        self.accounts.get_mut(&id)
    }

    /// Adds `amount` to one balance column of `id`, refusing overflow.
    fn add(&mut self, id: AccountId, column: usize, amount: i64) -> Result<(), LedgerError> {
        let account = self.account(id).ok_or(LedgerError::NoSuchQuotaAccount(id))?;
        let b = &mut account.balance;
        let slot = match column {
            DEBITS_PENDING => &mut b.debits_pending,
            DEBITS_POSTED => &mut b.debits_posted,
            CREDITS_PENDING => &mut b.credits_pending,
            _ => &mut b.credits_posted,
        };
        *slot = slot.checked_add(amount).ok_or(LedgerError::Overflow(id))?;
        account.delta[column] += amount;
        Ok(())
    }

    fn quota_account(&self, id: AccountId) -> Result<&Account, LedgerError> {
        match self.accounts.get(&id) {
            Some(a) if a.balance.kind == AccountKind::Quota => Ok(a),
            _ => Err(LedgerError::NoSuchQuotaAccount(id)),
        }
    }

    fn record(&mut self, transfer: Transfer, pending: Option<PendingRow>) -> Receipt {
        let id = transfer.id;
        self.new_order.push(id);
        self.entries.insert(id, Entry { transfer: transfer.clone(), is_new: true, pending, serial: None });
        Receipt { transfer, serial: None }
    }

    fn new_transfer(&self, id: TransferId, kind: TransferKind, debit: AccountId, credit: AccountId, amount: i64) -> Transfer {
        Transfer {
            id,
            kind,
            debit_account: debit,
            credit_account: credit,
            amount,
            pending_id: None,
            timeout_ms: None,
            reason: String::new(),
            reference: String::new(),
            stamp: None,
            created_at: self.ctx.now,
        }
    }

    fn apply(&mut self, op: &Op) -> Result<Done, LedgerError> {
        // A stamping's beginning is idempotent by its owner's key, not by its transfer id.
        if !matches!(op, Op::BeginStamping(..))
            && let Some(id) = op_id(op)
            && let Some(existing) = self.entries.get(&id)
        {
            return match differing_field(&existing.transfer, op) {
                Some(field) => Err(LedgerError::IdConflict { id, field }),
                None => Ok(Done::Receipt(Receipt { transfer: existing.transfer.clone(), serial: None })),
            };
        }
        match op {
            Op::Mint(m) => self.mint(m),
            Op::Grant(g) => self.grant(g),
            Op::Reserve(r) => self.reserve(r),
            Op::BeginStamping(new, r) => self.begin_stamping(new, r),
            Op::Post(p, tail) => {
                // Checked before anything moves: a refused operation leaves no trace in the batch.
                if let Some(tail) = tail {
                    check_tail(tail)?;
                }
                let done = self.resolve(p.id, p.pending_id, Resolution::Stamp(p.stamp), String::new())?;
                if let Some(tail) = tail {
                    self.stamped_records.push(StampedRecord { stamping: p.pending_id, doc_sha256: p.stamp.doc_sha256, tail: tail.clone() });
                }
                Ok(done)
            }
            Op::Void(v) => self.resolve(v.id, v.pending_id, Resolution::Void, v.reason.clone()),
            Op::Hold(h) => self.hold(h),
            Op::Credit(c) => self.resolve(c.id, c.pending_id, Resolution::Credit, String::new()),
            Op::Expire(pending_id) => Ok(Done::Expire(self.expire(*pending_id)?)),
        }
    }

    fn mint(&mut self, m: &Mint) -> Result<Done, LedgerError> {
        check_units(m.units)?;
        check_text("note", &m.note)?;
        self.add(AccountId::ISSUER, DEBITS_POSTED, m.units)?;
        self.add(AccountId::STOCK, CREDITS_POSTED, m.units)?;
        let mut t = self.new_transfer(m.id, TransferKind::Mint, AccountId::ISSUER, AccountId::STOCK, m.units);
        t.reason = m.note.clone();
        Ok(Done::Receipt(self.record(t, None)))
    }

    fn grant(&mut self, g: &Grant) -> Result<Done, LedgerError> {
        check_units(g.units)?;
        check_text("reason", &g.reason)?;
        check_text("reference", &g.reference)?;
        self.quota_account(g.to)?;
        let stock = self.account(AccountId::STOCK).ok_or(LedgerError::NoSuchQuotaAccount(AccountId::STOCK))?;
        let available = stock.balance.available();
        if available < g.units {
            return Err(LedgerError::InsufficientStock { available, requested: g.units });
        }
        self.add(AccountId::STOCK, DEBITS_POSTED, g.units)?;
        self.add(g.to, CREDITS_POSTED, g.units)?;
        let mut t = self.new_transfer(g.id, TransferKind::Grant, AccountId::STOCK, g.to, g.units);
        t.reason = g.reason.clone();
        t.reference = g.reference.clone();
        Ok(Done::Receipt(self.record(t, None)))
    }

    fn reserve(&mut self, r: &Reserve) -> Result<Done, LedgerError> {
        if !(1..=RESERVE_TIMEOUT_MS_MAX).contains(&r.timeout_ms) {
            return Err(LedgerError::InvalidTimeout { timeout_ms: r.timeout_ms, max: RESERVE_TIMEOUT_MS_MAX });
        }
        check_text("reference", &r.reference)?;
        let available = self.quota_account(r.account)?.balance.available();
        if available < 1 {
            return Err(LedgerError::InsufficientQuota { account: r.account, available });
        }
        self.add(r.account, DEBITS_PENDING, 1)?;
        self.add(AccountId::CONSUMED, CREDITS_PENDING, 1)?;
        let t = self.new_transfer(r.id, TransferKind::Reserve, r.account, AccountId::CONSUMED, 1);
        Ok(self.record_pending(t, r.timeout_ms, &r.reference))
    }

    /// Records the stamping `new` and reserves its unit (`r`, whose id is the stamping's), or
    /// answers with the stamping its key already names.
    fn begin_stamping(&mut self, new: &NewStamping, r: &Reserve) -> Result<Done, LedgerError> {
        let key = (new.user_id, new.idempotency_key.clone());
        if let Some(&earlier) = self.stamping_keys.get(&key) {
            return Ok(Done::Stamping(StampingBegun::Existing(earlier)));
        }
        if r.id != new.id || self.entries.contains_key(&r.id) {
            return Err(LedgerError::IdConflict { id: r.id, field: "id" });
        }
        for (field, text) in [
            ("idempotency_key", &new.idempotency_key),
            ("file_name", &new.file_name),
            ("doc_number", &new.doc_number),
            ("doc_date", &new.doc_date),
        ] {
            check_text(field, text)?;
        }
        let begun = match self.reserve(r) {
            Ok(Done::Receipt(receipt)) => StampingBegun::Reserved(receipt),
            Ok(_) => return Err(LedgerError::Stopped),
            Err(e) => StampingBegun::Refused(e, self.ctx.now),
        };
        let failure = match &begun {
            StampingBegun::Refused(e, _) => Some((refusal_code(e), e.to_string())),
            _ => None,
        };
        self.stamping_keys.insert(key, new.id);
        self.new_stampings.push(NewStampingRow { new: new.clone(), failure });
        Ok(Done::Stamping(begun))
    }

    /// The reservation `pending_id` if it exists and is still pending.
    fn open_reservation(&self, pending_id: TransferId) -> Result<(&Entry, &PendingRow), LedgerError> {
        let entry = self.entries.get(&pending_id).ok_or(LedgerError::PendingNotFound(pending_id))?;
        let pending = entry.pending.as_ref().ok_or(LedgerError::PendingNotFound(pending_id))?;
        if pending.status != PendingStatus::Pending {
            return Err(LedgerError::PendingAlreadyResolved { pending_id, status: pending.status });
        }
        Ok((entry, pending))
    }

    /// Moves a reservation's held amounts to posted (`post`) or back (`void`/expire).
    fn release(&mut self, reservation: &Transfer, post: bool) -> Result<(), LedgerError> {
        let amount = reservation.amount;
        self.add(reservation.debit_account, DEBITS_PENDING, -amount)?;
        self.add(reservation.credit_account, CREDITS_PENDING, -amount)?;
        if post {
            self.add(reservation.debit_account, DEBITS_POSTED, amount)?;
            self.add(reservation.credit_account, CREDITS_POSTED, amount)?;
        }
        Ok(())
    }

    fn mark(&mut self, pending_id: TransferId, status: PendingStatus, by: Option<TransferId>, stamp: Option<StampBinding>) {
        let now = self.ctx.now.0;
        if let Some(pending) = self.entries.get_mut(&pending_id).and_then(|e| e.pending.as_mut()) {
            pending.status = status;
            pending.resolved_by = by;
            pending.resolved_at = Some(now);
            pending.stamp = stamp;
            pending.dirty = true;
        }
    }

    /// Post (a stamp on a reservation, a credit of a hold) or void the pending transfer
    /// `pending_id`.
    fn resolve(&mut self, id: TransferId, pending_id: TransferId, how: Resolution, reason: String) -> Result<Done, LedgerError> {
        check_text("reason", &reason)?;
        let (entry, pending) = self.open_reservation(pending_id)?;
        // A stamp posts only a reservation of quota, a credit only a hold of stock.
        let hold = entry.transfer.is_stock_hold();
        if matches!((&how, hold), (Resolution::Stamp(_), true) | (Resolution::Credit, false)) {
            return Err(LedgerError::PendingNotFound(pending_id));
        }
        let (post, stamp) = match how {
            Resolution::Stamp(stamp) => (true, Some(stamp)),
            Resolution::Credit => (true, None),
            Resolution::Void => (false, None),
        };
        // A post after the timeout would consume a unit the owner was promised back; a void
        // then has the same effect as the sweeper's expiry and is allowed.
        if post && self.ctx.now.0 >= pending.expires_at {
            return Err(LedgerError::PendingExpired(pending_id));
        }
        let reservation = entry.transfer.clone();
        self.release(&reservation, post)?;
        let kind = if post { TransferKind::Post } else { TransferKind::Void };
        let mut t = self.new_transfer(id, kind, reservation.debit_account, reservation.credit_account, reservation.amount);
        t.pending_id = Some(pending_id);
        t.stamp = stamp;
        t.reason = reason;
        let status = if post { PendingStatus::Posted } else { PendingStatus::Voided };
        self.mark(pending_id, status, Some(id), stamp);
        Ok(Done::Receipt(self.record(t, None)))
    }

    fn hold(&mut self, h: &Hold) -> Result<Done, LedgerError> {
        check_units(h.units)?;
        if !(1..=RESERVE_TIMEOUT_MS_MAX).contains(&h.timeout_ms) {
            return Err(LedgerError::InvalidTimeout { timeout_ms: h.timeout_ms, max: RESERVE_TIMEOUT_MS_MAX });
        }
        check_text("reference", &h.reference)?;
        self.quota_account(h.to)?;
        let stock = self.account(AccountId::STOCK).ok_or(LedgerError::NoSuchQuotaAccount(AccountId::STOCK))?;
        let available = stock.balance.available();
        if available < h.units {
            return Err(LedgerError::InsufficientStock { available, requested: h.units });
        }
        self.add(AccountId::STOCK, DEBITS_PENDING, h.units)?;
        self.add(h.to, CREDITS_PENDING, h.units)?;
        let t = self.new_transfer(h.id, TransferKind::Reserve, AccountId::STOCK, h.to, h.units);
        Ok(self.record_pending(t, h.timeout_ms, &h.reference))
    }

    /// Records `t` as a pending transfer (a stamping's reservation or an order's hold) that the
    /// sweeper expires `timeout_ms` from now unless it is posted or voided first.
    fn record_pending(&mut self, mut t: Transfer, timeout_ms: i64, reference: &str) -> Done {
        t.timeout_ms = Some(timeout_ms);
        t.reference = reference.to_string();
        let pending = PendingRow {
            expires_at: self.ctx.now.0.saturating_add(timeout_ms),
            status: PendingStatus::Pending,
            resolved_by: None,
            resolved_at: None,
            stamp: None,
            dirty: false,
        };
        Done::Receipt(self.record(t, Some(pending)))
    }

    fn expire(&mut self, pending_id: TransferId) -> Result<ExpireOutcome, LedgerError> {
        let (entry, pending) = match self.open_reservation(pending_id) {
            Ok(found) => found,
            Err(LedgerError::PendingNotFound(_)) => return Ok(ExpireOutcome::Unknown),
            Err(_) => return Ok(ExpireOutcome::AlreadyResolved),
        };
        if self.ctx.now.0 < pending.expires_at {
            return Ok(ExpireOutcome::NotDue);
        }
        let reservation = entry.transfer.clone();
        self.release(&reservation, false)?;
        self.mark(pending_id, PendingStatus::Expired, None, None);
        Ok(ExpireOutcome::Expired)
    }

    /// The serial number of the reservation behind a receipt.
    fn serial_of(&self, transfer: &Transfer) -> Option<Serial> {
        let reservation = match transfer.kind {
            TransferKind::Reserve => transfer.id,
            TransferKind::Post | TransferKind::Void => transfer.pending_id?,
            TransferKind::Mint | TransferKind::Grant => return None,
        };
        self.entries.get(&reservation).and_then(|e| e.serial)
    }
}

/// How a pending transfer is resolved.
enum Resolution {
    /// A stamping's reservation is posted: the serial number is bound to the document.
    Stamp(StampBinding),
    /// An order's hold is posted: the units become the owner's quota.
    Credit,
    /// Either is voided: the units go back.
    Void,
}

fn serial_state(status: PendingStatus) -> &'static str {
    match status {
        PendingStatus::Pending => "reserved",
        PendingStatus::Posted => "stamped",
        PendingStatus::Voided | PendingStatus::Expired => "void",
    }
}

fn stamp_vals(stamp: Option<StampBinding>) -> [Val; 3] {
    match stamp {
        Some(s) => [Val::Text(hex(&s.doc_sha256)), Val::Text(s.doc_type.code().to_string()), Val::Int(s.stamped_at.0)],
        None => [Val::NullText, Val::NullText, Val::NullInt],
    }
}

/// What a batch reads before applying: transfer ids (the operations' own, for idempotency, and
/// the reservations they resolve) and the stampings' keys. Sorted, so reads are deterministic.
pub(crate) struct Wanted {
    /// Every transfer id the batch names.
    pub ids: Vec<String>,
    /// The reservations (and holds) the batch resolves: their accounts are read too.
    pub pending_ids: Vec<String>,
    /// The (owner, Idempotency-Key) of every stamping the batch begins.
    pub stamping_keys: Vec<StampingKey>,
    /// The accounts the operations name themselves ([`named_accounts`]), ascending.
    pub named_accounts: Vec<i64>,
}

pub(crate) fn wanted(ops: &[Op]) -> Wanted {
    let pending_ids: BTreeSet<String> = ops.iter().filter_map(op_pending_id).map(|id| id.to_string()).collect();
    let mut ids: BTreeSet<String> = ops.iter().filter_map(op_id).map(|id| id.to_string()).collect();
    ids.extend(pending_ids.iter().cloned());
    let stamping_keys: BTreeSet<StampingKey> = ops
        .iter()
        .filter_map(|op| match op {
            Op::BeginStamping(new, _) => Some((new.user_id, new.idempotency_key.clone())),
            _ => None,
        })
        .collect();
    Wanted {
        ids: ids.into_iter().collect(),
        pending_ids: pending_ids.into_iter().collect(),
        stamping_keys: stamping_keys.into_iter().collect(),
        named_accounts: named_accounts(ops).into_iter().collect(),
    }
}

/// The select list and joins that read one stored transfer with its reservation state and
/// serial number, in the column order [`entry_from_row`] parses; the caller adds the WHERE.
pub(crate) fn entry_select() -> String {
    format!(
        "SELECT {TRANSFER_COLUMNS}, p.expires_at, p.status, p.resolved_by, p.resolved_at, s.serial \
         FROM transfers t LEFT JOIN pending_transfers p ON p.transfer_id = t.id \
         LEFT JOIN serials s ON s.reserve_transfer_id = t.id"
    )
}

/// Where [`entry_select`] puts the reservation's status; its `resolved_by` is next.
const ENTRY_PENDING_STATUS_COLUMN: usize = 14;
/// How many columns [`entry_select`] selects.
pub(crate) const ENTRY_COLUMNS: usize = 18;

/// Parses a row selected with [`entry_select`].
pub(crate) fn entry_from_row(row: &impl Cells) -> Result<Entry, StoreError> {
    let transfer = transfer_from_row(row)?;
    let record = format!("transfers/{}", transfer.id);
    let pending = match row.text(ENTRY_PENDING_STATUS_COLUMN)? {
        Some(status_text) => Some(PendingRow {
            expires_at: row.req_int(13)?,
            status: PendingStatus::parse(&status_text).ok_or_else(|| StoreError::corrupt(&record, "bad pending status"))?,
            resolved_by: match row.text(ENTRY_PENDING_STATUS_COLUMN + 1)? {
                Some(t) => Some(transfer_id_from(&t, &record)?),
                None => None,
            },
            resolved_at: row.int(16)?,
            stamp: None,
            dirty: false,
        }),
        None => None,
    };
    let serial = match row.text(17)? {
        Some(text) => Some(Serial::parse(&text).map_err(|e| StoreError::corrupt(&record, e.to_string()))?),
        None => None,
    };
    Ok(Entry { transfer, is_new: false, pending, serial })
}

/// The accounts the batch moves, ascending: those its operations name (`want.named_accounts`)
/// and those of the reservations it resolves (read in `entries`).
pub(crate) fn wanted_accounts(want: &Wanted, entries: &HashMap<TransferId, Entry>) -> Vec<i64> {
    let mut account_ids: BTreeSet<i64> = want.named_accounts.iter().copied().collect();
    for entry in want.pending_ids.iter().filter_map(|id| TransferId::parse(id).and_then(|id| entries.get(&id))) {
        account_ids.extend([entry.transfer.debit_account.0, entry.transfer.credit_account.0]);
    }
    account_ids.into_iter().collect()
}

/// The accounts the operations name themselves (not through a reservation they resolve).
pub(crate) fn named_accounts(ops: &[Op]) -> BTreeSet<i64> {
    let mut account_ids: BTreeSet<i64> = BTreeSet::new();
    for op in ops {
        match op {
            Op::Mint(_) => account_ids.extend([AccountId::ISSUER.0, AccountId::STOCK.0]),
            Op::Grant(g) => account_ids.extend([AccountId::STOCK.0, g.to.0]),
            Op::Reserve(r) | Op::BeginStamping(_, r) => account_ids.extend([r.account.0, AccountId::CONSUMED.0]),
            Op::Hold(h) => account_ids.extend([AccountId::STOCK.0, h.to.0]),
            Op::Post(..) | Op::Void(_) | Op::Credit(_) | Op::Expire(_) => {}
        }
    }
    account_ids
}

/// A batch applied in memory, before serial numbers are allocated and rows written.
pub(crate) struct Applied<'a> {
    /// The state after every operation.
    work: Working<'a>,
    /// Each operation's own answer.
    results: Vec<Result<Done, LedgerError>>,
    /// New reservations in the order made: they get consecutive serial sequence numbers.
    new_reservations: Vec<TransferId>,
}

/// What a batch read before applying.
pub(crate) struct Read {
    /// Stored transfers by id (with their reservation state and serial number).
    pub entries: HashMap<TransferId, Entry>,
    /// The accounts' balances.
    pub balances: Vec<Balance>,
    /// Stored stampings of the batch's (owner, Idempotency-Key) pairs.
    pub stamping_keys: HashMap<StampingKey, TransferId>,
}

/// Applies `ops` in order to what was read. Per-operation refusals are in the results.
pub(crate) fn apply_ops<'a>(ctx: &'a BatchContext<'a>, read: Read, ops: &[Op]) -> Applied<'a> {
    let Read { entries, balances, stamping_keys } = read;
    let accounts = balances.into_iter().map(|b| (b.account, Account { balance: b, delta: [0; 4] })).collect();
    let mut work = Working {
        ctx,
        entries,
        new_order: Vec::new(),
        accounts,
        stamped_records: Vec::new(),
        stamping_keys,
        new_stampings: Vec::new(),
    };
    let results = ops.iter().map(|op| work.apply(op)).collect();
    let new_reservations = work
        .new_order
        .iter()
        .copied()
        .filter(|id| work.entries.get(id).is_some_and(|e| e.transfer.kind == TransferKind::Reserve && !e.transfer.is_stock_hold()))
        .collect();
    Applied { work, results, new_reservations }
}

/// Which SQL type a written column has (PostgreSQL binds each column as one typed array).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    /// BIGINT.
    Int,
    /// TEXT.
    Text,
}

/// One kind of write, in both backends' forms. Both take the same values in the same order.
pub(crate) struct WriteSpec {
    /// Column types, in bind order.
    pub types: &'static [Ty],
    /// SQLite: one row per execution, `?1`.. in `types` order (prepared once, cached).
    pub sqlite: &'static str,
    /// PostgreSQL: one statement for all rows; `{rows}` becomes `UNNEST($a::type[], ..)`, one
    /// array per column, and the statement must end in `RETURNING 1` (rows are counted).
    pub postgres: &'static str,
}

/// Rows to write of one kind.
pub(crate) struct Write {
    /// How to write them.
    pub spec: &'static WriteSpec,
    /// The values, one vector per row, in `spec.types` order.
    pub rows: Vec<Vec<Val>>,
}

/// Everything a batch writes, in an order the foreign keys accept. Each row must be written
/// (insert) or matched (conditional update) exactly once; fewer means another writer won.
pub(crate) type WriteSet = Vec<Write>;

const T: Ty = Ty::Text;
const I: Ty = Ty::Int;

static INSERT_TRANSFERS: WriteSpec = WriteSpec {
    types: &[T, T, I, I, I, T, I, T, T, T, T, I, I],
    sqlite: "INSERT INTO transfers (id, kind, debit_account_id, credit_account_id, amount, pending_id, \
             timeout_ms, reason, reference, doc_sha256, doc_type, stamped_at, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    postgres: "INSERT INTO transfers (id, kind, debit_account_id, credit_account_id, amount, pending_id, \
               timeout_ms, reason, reference, doc_sha256, doc_type, stamped_at, created_at) \
               SELECT * FROM {rows} RETURNING 1",
};

static INSERT_PENDING: WriteSpec = WriteSpec {
    types: &[T, I, T, T, I],
    sqlite: "INSERT INTO pending_transfers (transfer_id, expires_at, status, resolved_by, resolved_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
    postgres: "INSERT INTO pending_transfers (transfer_id, expires_at, status, resolved_by, resolved_at) \
               SELECT * FROM {rows} RETURNING 1",
};

// Conditional: a reservation another writer resolved meanwhile is not matched, the row count
// comes out short and the batch is rolled back and retried. The status it must still have
// ('pending') is bound (the 5th column), not written as a literal: a literal matches the
// predicate of the partial index `pending_due`, and a generic plan made while few
// reservations were pending then walks every pending reservation for each batch (measured:
// 34 ms with 50,000 pending, against 0.1 ms by primary key).
pub(crate) static UPDATE_PENDING: WriteSpec = WriteSpec {
    types: &[T, T, T, I, T],
    sqlite: "UPDATE pending_transfers SET status = ?2, resolved_by = ?3, resolved_at = ?4 \
             WHERE transfer_id = ?1 AND status = ?5",
    postgres: "UPDATE pending_transfers SET status = v.c2, resolved_by = v.c3, resolved_at = v.c4 \
               FROM {rows} AS v (c1, c2, c3, c4, c5) \
               WHERE pending_transfers.transfer_id = v.c1 AND pending_transfers.status = v.c5 RETURNING 1",
};

static INSERT_SERIALS: WriteSpec = WriteSpec {
    types: &[T, I, T, T, I, T, T, T, I, I, I],
    sqlite: "INSERT INTO serials (serial, seq, series, state, owner_account_id, reserve_transfer_id, \
             doc_sha256, doc_type, stamped_at, reserved_at, resolved_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    postgres: "INSERT INTO serials (serial, seq, series, state, owner_account_id, reserve_transfer_id, \
               doc_sha256, doc_type, stamped_at, reserved_at, resolved_at) \
               SELECT * FROM {rows} RETURNING 1",
};

static UPDATE_SERIALS: WriteSpec = WriteSpec {
    types: &[T, T, T, T, I, I],
    sqlite: "UPDATE serials SET state = ?2, doc_sha256 = ?3, doc_type = ?4, stamped_at = ?5, resolved_at = ?6 \
             WHERE reserve_transfer_id = ?1 AND state = 'reserved'",
    postgres: "UPDATE serials SET state = v.c2, doc_sha256 = v.c3, doc_type = v.c4, stamped_at = v.c5, \
               resolved_at = v.c6 FROM {rows} AS v (c1, c2, c3, c4, c5, c6) \
               WHERE serials.reserve_transfer_id = v.c1 AND serials.state = 'reserved' RETURNING 1",
};

// A key another node recorded meanwhile violates the unique (user_id, idempotency_key): the
// batch is rolled back and rerun, and the rerun reads that stamping and answers with it.
static INSERT_STAMPINGS: WriteSpec = WriteSpec {
    types: &[T, I, T, T, T, T, T, I, I, T, T, T, T, T, T, I, I],
    sqlite: "INSERT INTO stampings (id, user_id, idempotency_key, request_sha256, status, file_name, input_sha256, \
             input_bytes, page, doc_type, doc_number, doc_date, serial, error_code, error_message, created_at, \
             finished_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    postgres: "INSERT INTO stampings (id, user_id, idempotency_key, request_sha256, status, file_name, input_sha256, \
               input_bytes, page, doc_type, doc_number, doc_date, serial, error_code, error_message, created_at, \
               finished_at) SELECT * FROM {rows} RETURNING 1",
};

// Conditional like UPDATE_PENDING: a stamping row that is gone or no longer processing makes
// the count short, so the post is not committed without its record.
static UPDATE_STAMPINGS_STAMPED: WriteSpec = WriteSpec {
    types: &[T, T, T, T, I],
    sqlite: "UPDATE stampings SET status = 'stamped', serial = ?2, doc_sha256 = ?3, tail_hex = ?4, finished_at = ?5 \
             WHERE id = ?1 AND status = 'processing'",
    postgres: "UPDATE stampings SET status = 'stamped', serial = v.c2, doc_sha256 = v.c3, tail_hex = v.c4, \
               finished_at = v.c5 FROM {rows} AS v (c1, c2, c3, c4, c5) \
               WHERE stampings.id = v.c1 AND stampings.status = 'processing' RETURNING 1",
};

// On PostgreSQL accounts are not locked while a batch is applied, so another writer may have
// moved one since it was read (or resolved the same reservation first): an account changes
// only if every CHECK on its row still holds afterwards (no negative column, a limit kept),
// else the count comes out short and the batch is retried against the new balance. Left to
// the CHECKs, such a race would be a constraint violation, which is not retried. SQLite's
// single writer read the balance it changes.
static UPDATE_ACCOUNTS: WriteSpec = WriteSpec {
    types: &[I, I, I, I, I],
    sqlite: "UPDATE accounts SET debits_pending = debits_pending + ?2, debits_posted = debits_posted + ?3, \
             credits_pending = credits_pending + ?4, credits_posted = credits_posted + ?5 WHERE id = ?1",
    postgres: "UPDATE accounts SET debits_pending = accounts.debits_pending + v.c2, \
               debits_posted = accounts.debits_posted + v.c3, credits_pending = accounts.credits_pending + v.c4, \
               credits_posted = accounts.credits_posted + v.c5 FROM {rows} AS v (c1, c2, c3, c4, c5) \
               WHERE accounts.id = v.c1 AND accounts.debits_pending + v.c2 >= 0 AND accounts.debits_posted + v.c3 >= 0 \
               AND accounts.credits_pending + v.c4 >= 0 AND accounts.credits_posted + v.c5 >= 0 \
               AND (accounts.debits_must_not_exceed_credits = 0 \
               OR accounts.debits_pending + v.c2 + accounts.debits_posted + v.c3 <= accounts.credits_posted + v.c5) \
               RETURNING 1",
};

/// Adds balance changes to one stripe of an account (see migration 0005); a stripe's row is
/// created by its first change.
static UPSERT_ACCOUNT_DELTAS: WriteSpec = WriteSpec {
    types: &[I, I, I, I, I, I],
    sqlite: "INSERT INTO account_deltas (account_id, stripe, debits_pending, debits_posted, credits_pending, \
             credits_posted) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (account_id, stripe) DO UPDATE SET \
             debits_pending = debits_pending + excluded.debits_pending, \
             debits_posted = debits_posted + excluded.debits_posted, \
             credits_pending = credits_pending + excluded.credits_pending, \
             credits_posted = credits_posted + excluded.credits_posted",
    postgres: "INSERT INTO account_deltas (account_id, stripe, debits_pending, debits_posted, credits_pending, \
               credits_posted) SELECT * FROM {rows} ON CONFLICT (account_id, stripe) DO UPDATE SET \
               debits_pending = account_deltas.debits_pending + excluded.debits_pending, \
               debits_posted = account_deltas.debits_posted + excluded.debits_posted, \
               credits_pending = account_deltas.credits_pending + excluded.credits_pending, \
               credits_posted = account_deltas.credits_posted + excluded.credits_posted RETURNING 1",
};

impl Applied<'_> {
    /// How many serial sequence numbers to allocate (one per new reservation).
    pub(crate) fn serials_needed(&self) -> i64 {
        i64::try_from(self.new_reservations.len()).unwrap_or(i64::MAX)
    }

    /// Whether every operation was granted as asked: nothing refused, no stamping found under
    /// its key already, no expiry. A batch applied to remembered rows instead of fresh reads
    /// ([`crate::read_memo`]) is written only then: what it would refuse, it must refuse from
    /// what the database holds now.
    pub(crate) fn all_granted(&self) -> bool {
        self.results.iter().all(|r| matches!(r, Ok(Done::Receipt(_) | Done::Stamping(StampingBegun::Reserved(_)))))
    }

    /// Gives the new reservations the sequence numbers up to `last` (allocated by the caller
    /// with [`Applied::serials_needed`]), fills the receipts' serial numbers, and returns the
    /// answers and the rows to write.
    pub(crate) fn finish(mut self, last: i64) -> Result<(Vec<Result<Done, LedgerError>>, WriteSet), StoreError> {
        self.number(last)?;
        let writes = write_set(&self.work);
        Ok((self.results, writes))
    }

    /// [`Applied::finish`], and what a later batch may remember of this one once its rows are
    /// written (PostgreSQL's writers, [`crate::read_memo`]; SQLite's keeps nothing).
    pub(crate) fn finish_remembering(mut self, last: i64) -> Result<Finished, StoreError> {
        self.number(last)?;
        let (writes, learned) = (write_set(&self.work), Learned::from(&self.work));
        Ok((self.results, writes, learned))
    }

    fn number(&mut self, last: i64) -> Result<(), StoreError> {
        let count = self.serials_needed();
        let ctx = self.work.ctx;
        for (offset, id) in (0i64..).zip(&self.new_reservations) {
            let seq = u64::try_from(last - count + 1 + offset)
                .map_err(|_| StoreError::corrupt("counters/serial_seq", "negative sequence"))?;
            let serial = Serial::from_sequence(ctx.series, seq, ctx.key)
                .map_err(|e| StoreError::corrupt("configuration/series", e.to_string()))?;
            if let Some(entry) = self.work.entries.get_mut(id) {
                entry.serial = Some(serial);
            }
        }
        for result in self.results.iter_mut() {
            if let Ok(Done::Receipt(receipt) | Done::Stamping(StampingBegun::Reserved(receipt))) = result {
                receipt.serial = self.work.serial_of(&receipt.transfer);
            }
        }
        Ok(())
    }
}

/// A finished batch: an answer per operation, the rows to write, and what to remember once
/// they are written.
pub(crate) type Finished = (Vec<Result<Done, LedgerError>>, WriteSet, Learned);

/// What a batch leaves behind that a later batch of the same process may start from instead of
/// reading it again (see [`crate::read_memo`]): the batch's view once its writes commit.
#[derive(Debug, Default)]
pub(crate) struct Learned {
    /// Every account the batch read, with its balance after the batch as the batch computed
    /// it (from its reads: another writer's changes since are not in it).
    pub balances: Vec<Balance>,
    /// Reservations the batch made (with their serial numbers), as a read would return them.
    pub reserved: Vec<Entry>,
    /// Reservations the batch resolved (posted, voided, expired).
    pub resolved: Vec<TransferId>,
}

impl Learned {
    fn from(work: &Working<'_>) -> Learned {
        let pending = |e: &&Entry| e.pending.as_ref().is_some_and(|p| p.status == PendingStatus::Pending);
        Learned {
            balances: work.accounts.values().map(|a| a.balance).collect(),
            reserved: work.entries.values().filter(|e| e.is_new).filter(pending).map(Entry::as_stored).collect(),
            resolved: work.entries.values().filter(|e| !e.is_new && e.pending.as_ref().is_some_and(|p| p.dirty)).map(|e| e.transfer.id).collect(),
        }
    }
}

fn write_set(work: &Working<'_>) -> WriteSet {
    let mut transfer_rows = Vec::new();
    let mut new_pending_rows = Vec::new();
    let mut new_serial_rows = Vec::new();
    for id in &work.new_order {
        let Some(e) = work.entries.get(id) else { continue };
        let t = &e.transfer;
        let [sha, doc_type, stamped_at] = stamp_vals(t.stamp);
        transfer_rows.push(vec![
            Val::Text(t.id.to_string()),
            Val::from(t.kind.as_str()),
            Val::Int(t.debit_account.0),
            Val::Int(t.credit_account.0),
            Val::Int(t.amount),
            Val::from(t.pending_id.map(|p| p.to_string())),
            Val::from(t.timeout_ms),
            Val::Text(t.reason.clone()),
            Val::Text(t.reference.clone()),
            sha,
            doc_type,
            stamped_at,
            Val::Int(t.created_at.0),
        ]);
        if let Some(p) = &e.pending {
            new_pending_rows.push(vec![
                Val::Text(t.id.to_string()),
                Val::Int(p.expires_at),
                Val::from(p.status.as_str()),
                Val::from(p.resolved_by.map(|b| b.to_string())),
                Val::from(p.resolved_at),
            ]);
        }
        if let (Some(p), Some(serial)) = (&e.pending, e.serial) {
            let seq = serial.sequence(work.ctx.key).and_then(|s| i64::try_from(s).ok()).unwrap_or(-1);
            let [sha, doc_type, stamped_at] = stamp_vals(p.stamp);
            new_serial_rows.push(vec![
                Val::Text(serial.to_string()),
                Val::Int(seq),
                Val::from(serial.series()),
                Val::from(serial_state(p.status)),
                Val::Int(t.debit_account.0),
                Val::Text(t.id.to_string()),
                sha,
                doc_type,
                stamped_at,
                Val::Int(t.created_at.0),
                Val::from(p.resolved_at),
            ]);
        }
    }
    let mut pending_updates = Vec::new();
    let mut serial_updates = Vec::new();
    // Sorted by id: concurrent writers on PostgreSQL update rows in one order.
    let mut resolved: Vec<&Entry> = work.entries.values().filter(|e| !e.is_new && e.pending.as_ref().is_some_and(|p| p.dirty)).collect();
    resolved.sort_by_key(|e| e.transfer.id);
    for e in resolved {
        let Some(p) = e.pending.as_ref() else { continue };
        let id = e.transfer.id.to_string();
        pending_updates.push(vec![
            Val::Text(id.clone()),
            Val::from(p.status.as_str()),
            Val::from(p.resolved_by.map(|b| b.to_string())),
            Val::from(p.resolved_at),
            Val::from(PendingStatus::Pending.as_str()),
        ]);
        if e.transfer.is_stock_hold() {
            // Holds have no serial number.
            continue;
        }
        let [sha, doc_type, stamped_at] = stamp_vals(p.stamp);
        serial_updates.push(vec![Val::Text(id), Val::from(serial_state(p.status)), sha, doc_type, stamped_at, Val::from(p.resolved_at)]);
    }
    let mut new_stamping_rows = Vec::new();
    for row in &work.new_stampings {
        let n = &row.new;
        let serial = work.entries.get(&n.id).and_then(|e| e.serial).map(|sn| sn.to_string());
        let (status, code, message, finished_at) = match &row.failure {
            None => ("processing", None, None, Val::NullInt),
            Some((code, message)) => ("failed", Some(code.to_string()), Some(message.clone()), Val::Int(work.ctx.now.0)),
        };
        new_stamping_rows.push(vec![
            Val::Text(n.id.to_string()),
            Val::Int(n.user_id),
            Val::Text(n.idempotency_key.clone()),
            Val::Text(hex(&n.request_sha256)),
            Val::from(status),
            Val::Text(n.file_name.clone()),
            Val::Text(hex(&n.input_sha256)),
            Val::Int(n.input_bytes),
            Val::Int(i64::from(n.page)),
            Val::from(n.doc_type.code()),
            Val::Text(n.doc_number.clone()),
            Val::Text(n.doc_date.clone()),
            Val::from(serial),
            Val::from(code),
            Val::from(message),
            Val::Int(work.ctx.now.0),
            finished_at,
        ]);
    }
    let mut stamped_rows = Vec::new();
    for r in &work.stamped_records {
        let serial = work.entries.get(&r.stamping).and_then(|e| e.serial).map(|sn| sn.to_string());
        stamped_rows.push(vec![
            Val::Text(r.stamping.to_string()),
            Val::from(serial),
            Val::Text(hex(&r.doc_sha256)),
            Val::Text(hex(&r.tail)),
            Val::Int(work.ctx.now.0),
        ]);
    }
    let mut changed: Vec<&Account> = work.accounts.values().filter(|a| a.delta != [0; 4]).collect();
    changed.sort_by_key(|a| a.balance.account);
    let mut account_rows: Vec<Vec<Val>> = Vec::new();
    let mut stripe_rows: Vec<Vec<Val>> = Vec::new();
    for a in changed {
        let deltas = a.delta.iter().map(|&d| Val::Int(d));
        match work.ctx.stripe {
            Some(stripe) if UNLIMITED_ACCOUNTS.contains(&a.balance.account) => {
                stripe_rows.push([Val::Int(a.balance.account.0), Val::Int(stripe)].into_iter().chain(deltas).collect());
            }
            _ => account_rows.push(std::iter::once(Val::Int(a.balance.account.0)).chain(deltas).collect()),
        }
    }
    [
        (&INSERT_TRANSFERS, transfer_rows),
        (&INSERT_PENDING, new_pending_rows),
        (&UPDATE_PENDING, pending_updates),
        (&INSERT_SERIALS, new_serial_rows),
        (&UPDATE_SERIALS, serial_updates),
        (&UPDATE_ACCOUNTS, account_rows),
        (&UPSERT_ACCOUNT_DELTAS, stripe_rows),
        (&INSERT_STAMPINGS, new_stamping_rows),
        (&UPDATE_STAMPINGS_STAMPED, stamped_rows),
    ]
    .into_iter()
    .filter(|(_, rows)| !rows.is_empty())
    .map(|(spec, rows)| Write { spec, rows })
    .collect()
}

/// The row count a write set must reach (see [`WriteSet`]).
pub(crate) fn expected_rows(writes: &WriteSet) -> u64 {
    writes.iter().map(|w| w.rows.len() as u64).sum()
}

/// The error for a write set that matched fewer rows than it must.
pub(crate) fn short_write(affected: u64, expected: u64) -> StoreError {
    StoreError::Contention(format!("{affected} of {expected} rows written: a concurrent writer won"))
}
