//! The ledger's records and requests.

use meterai_core::{DocType, Serial, Timestamp};

/// A transfer id chosen by the client (TigerBeetle style): the key of idempotency. Stored as 32
/// lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransferId(pub u128);

impl TransferId {
    /// A fresh random id from the operating system, for callers without their own key (the
    /// admin CLI). `None` if the system has no randomness to give.
    pub fn random() -> Option<TransferId> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).ok()?;
        Some(TransferId(u128::from_le_bytes(bytes)))
    }

    /// This id with its top 48 bits replaced by the milliseconds of `now` (a ULID's layout:
    /// time, then the 80 bits that were below). Ids made this way sort by creation time, so
    /// transfers made one after the other land next to each other in every index keyed by
    /// them: a batch of new transfers dirties a few pages at the end of each index instead of
    /// one random page per transfer, and writing those pages is what bounds the SQLite writer
    /// (TigerBeetle asks its clients for such ids for the same reason). Uniqueness rests on
    /// the 80 bits kept, so they should be random.
    pub fn with_time_prefix(self, now: Timestamp) -> TransferId {
        let millis = u128::from(u64::try_from(now.0).unwrap_or(0)) & (u128::MAX >> Self::RANDOM_BITS);
        TransferId((millis << Self::RANDOM_BITS) | (self.0 & ((1 << Self::RANDOM_BITS) - 1)))
    }

    /// The time in front of an id made by [`TransferId::with_time_prefix`] (for a derived id
    /// that should sort next to the one it derives from).
    pub fn time_prefix(self) -> Timestamp {
        Timestamp(i64::try_from(self.0 >> Self::RANDOM_BITS).unwrap_or(0))
    }

    /// The bits below the time prefix.
    const RANDOM_BITS: u32 = 80;

    /// Parses 32 hex digits as written by `Display`.
    pub fn parse(hex: &str) -> Option<TransferId> {
        if hex.len() != 32 {
            return None;
        }
        u128::from_str_radix(hex, 16).ok().map(TransferId)
    }
}

impl std::fmt::Display for TransferId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// An account's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(pub i64);

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "account#{}", self.0)
    }
}

impl AccountId {
    /// The issuer: debited by every mint, so its debit balance is the total ever minted.
    pub const ISSUER: AccountId = AccountId(1);
    /// Unsold stock: credited by mints, debited by grants/sales; never below zero.
    pub const STOCK: AccountId = AccountId(2);
    /// Units consumed by stamps: credited (pending) by reservations, (posted) by stamps.
    pub const CONSUMED: AccountId = AccountId(3);
}

/// What an account is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountKind {
    /// The issuer (source of all units).
    Issuer,
    /// Unsold stock.
    Stock,
    /// One owner's quota.
    Quota,
    /// Units consumed by stamps.
    Consumed,
}

impl AccountKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AccountKind::Issuer => "issuer",
            AccountKind::Stock => "stock",
            AccountKind::Quota => "quota",
            AccountKind::Consumed => "consumed",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<AccountKind> {
        [AccountKind::Issuer, AccountKind::Stock, AccountKind::Quota, AccountKind::Consumed]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// An account's balances, TigerBeetle style: pending amounts are held by reservations and become
/// posted (or vanish) when the reservation resolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Balance {
    /// The account.
    pub account: AccountId,
    /// What the account is for.
    pub kind: AccountKind,
    /// Whether `debits_pending + debits_posted <= credits_posted` is enforced.
    pub debits_must_not_exceed_credits: bool,
    /// Debits held by open reservations.
    pub debits_pending: i64,
    /// Debits final.
    pub debits_posted: i64,
    /// Credits held by open reservations.
    pub credits_pending: i64,
    /// Credits final.
    pub credits_posted: i64,
}

/// Units of quota by state across all owners, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaUnits {
    /// Held by stampings in flight.
    pub reserved: i64,
    /// Consumed by stamps.
    pub posted: i64,
    /// Reservations that ended voided or expired (the unit went back).
    pub returned: i64,
}

impl Balance {
    /// Units that can still be debited (reserved or granted) from a limited account.
    pub fn available(&self) -> i64 {
        self.credits_posted - self.debits_posted - self.debits_pending
    }
}

/// What a transfer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferKind {
    /// Issuer -> stock: a minted batch.
    Mint,
    /// Stock -> quota: a grant or sale.
    Grant,
    /// Quota -> consumed, pending: one unit and one serial number held for a stamping.
    Reserve,
    /// Resolves a reservation: the unit is consumed and the serial number stamped.
    Post,
    /// Resolves a reservation: the unit goes back and the serial number is void.
    Void,
}

impl TransferKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TransferKind::Mint => "mint",
            TransferKind::Grant => "grant",
            TransferKind::Reserve => "reserve",
            TransferKind::Post => "post",
            TransferKind::Void => "void",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<TransferKind> {
        [
            TransferKind::Mint,
            TransferKind::Grant,
            TransferKind::Reserve,
            TransferKind::Post,
            TransferKind::Void,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Where a reservation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PendingStatus {
    /// Holding its unit until post, void or timeout.
    Pending,
    /// Consumed by a stamp.
    Posted,
    /// Returned by the client.
    Voided,
    /// Returned by the sweeper after the timeout.
    Expired,
}

impl PendingStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PendingStatus::Pending => "pending",
            PendingStatus::Posted => "posted",
            PendingStatus::Voided => "voided",
            PendingStatus::Expired => "expired",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<PendingStatus> {
        [PendingStatus::Pending, PendingStatus::Posted, PendingStatus::Voided, PendingStatus::Expired]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for PendingStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a stamp binds its serial number to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StampBinding {
    /// SHA-256 of the stamped revision of the PDF (the whole file after the incremental update).
    pub doc_sha256: [u8; 32],
    /// The official document type.
    pub doc_type: DocType,
    /// The stamping time embedded in the signature.
    pub stamped_at: Timestamp,
}

/// An immutable transfer as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// The client-chosen id.
    pub id: TransferId,
    /// What the transfer did.
    pub kind: TransferKind,
    /// The account debited.
    pub debit_account: AccountId,
    /// The account credited.
    pub credit_account: AccountId,
    /// Units moved (always 1 for reservations).
    pub amount: i64,
    /// For post/void: the reservation resolved.
    pub pending_id: Option<TransferId>,
    /// For reservations: how long the unit is held before the sweeper returns it.
    pub timeout_ms: Option<i64>,
    /// Why (mint note, grant reason, void reason).
    pub reason: String,
    /// Which order, stamping or ticket this belongs to.
    pub reference: String,
    /// For post: what the serial number was stamped on.
    pub stamp: Option<StampBinding>,
    /// When the ledger recorded it.
    pub created_at: Timestamp,
}

/// The result of a successful (or idempotently repeated) operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The transfer recorded (the original one when the request was a repeat).
    pub transfer: Transfer,
    /// The serial number of the reservation (reserve, post, void); `None` for mint and grant.
    pub serial: Option<Serial>,
}

/// Mint a batch of stock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mint {
    /// Idempotency key.
    pub id: TransferId,
    /// Units minted.
    pub units: i64,
    /// Why the batch exists (recorded).
    pub note: String,
}

/// Move stock to an owner's quota (a sale or a grant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Idempotency key.
    pub id: TransferId,
    /// The owner's quota account.
    pub to: AccountId,
    /// Units granted.
    pub units: i64,
    /// Why (shown in the owner's history).
    pub reason: String,
    /// Order or ticket reference.
    pub reference: String,
}

/// Hold one unit of quota and one serial number for a stamping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reserve {
    /// Idempotency key; also names the reservation for post/void.
    pub id: TransferId,
    /// The owner's quota account.
    pub account: AccountId,
    /// Milliseconds until the sweeper returns the unit.
    pub timeout_ms: i64,
    /// The stamping this is for.
    pub reference: String,
}

/// Consume a reservation: the stamp is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    /// Idempotency key.
    pub id: TransferId,
    /// The reservation.
    pub pending_id: TransferId,
    /// What the serial number is now bound to.
    pub stamp: StampBinding,
}

/// Cancel a reservation: the unit returns, the serial number becomes void.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Void {
    /// Idempotency key.
    pub id: TransferId,
    /// The reservation.
    pub pending_id: TransferId,
    /// Why (e.g. the stamping failure).
    pub reason: String,
}

/// Hold stock for an owner: a pending transfer stock -> quota of `units` (an order waiting for
/// its payment). The stock is taken at once, so a paid order never finds it gone; the owner
/// can use the units only once the hold is credited ([`Credit`]). Voided or expired, the units
/// go back to stock. Stored as a `reserve` transfer debiting the stock account (no serial).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// Idempotency key; also names the hold for credit/void.
    pub id: TransferId,
    /// The owner's quota account.
    pub to: AccountId,
    /// Units held.
    pub units: i64,
    /// Milliseconds until the sweeper returns the units to stock.
    pub timeout_ms: i64,
    /// The order this is for.
    pub reference: String,
}

/// Post a hold: its units become the owner's quota (a paid order is credited).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credit {
    /// Idempotency key.
    pub id: TransferId,
    /// The hold.
    pub pending_id: TransferId,
}

impl Transfer {
    /// Whether this is a hold of stock for an owner ([`Hold`]) rather than a stamping's
    /// reservation of one unit of quota.
    pub fn is_stock_hold(&self) -> bool {
        self.kind == TransferKind::Reserve && self.debit_account == AccountId::STOCK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_with_a_later_time_prefix_sort_after_earlier_ones_whatever_their_random_bits() {
        let early = TransferId(u128::MAX).with_time_prefix(Timestamp(1_764_000_000_000));
        let late = TransferId(0).with_time_prefix(Timestamp(1_764_000_000_001));
        assert!(early < late);
        assert!(early.to_string() < late.to_string(), "the stored hex sorts the same way");
    }

    #[test]
    fn a_time_prefix_keeps_the_low_80_bits() {
        let id = TransferId(0x1234_5678_9abc_def0_1357_9bdf_2468_ace0);
        let stamped = id.with_time_prefix(Timestamp(5));
        assert_eq!(stamped.0 & ((1 << 80) - 1), id.0 & ((1 << 80) - 1));
        assert_eq!(stamped.0 >> 80, 5);
        assert_eq!(stamped.time_prefix(), Timestamp(5));
    }
}
