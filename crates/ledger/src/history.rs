//! An owner's quota history: every movement on their quota account, newest first, with why and
//! for which order or stamping, and how each reservation ended.

use meterai_core::{Serial, Timestamp};
use sqlx::Row;

use crate::error::{LedgerError, StoreError};
use crate::ledger::Ledger;
use crate::rows::{TRANSFER_COLUMNS, transfer_from_row};
use crate::types::{AccountId, PendingStatus, Transfer, TransferKind};

/// Most movements returned by one history call.
pub const HISTORY_ROWS_MAX: i64 = 1_000;

/// One movement on a quota account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    /// The transfer.
    pub transfer: Transfer,
    /// Change to the units the owner can still use: +N for a grant or a credited order, -1 for
    /// a reservation, +1 for a void, 0 for a post (the held unit is consumed) and for an
    /// order's hold and its void (nothing usable moved).
    pub available_delta: i64,
    /// For reservations: how it stands now.
    pub status: Option<PendingStatus>,
    /// For reservations: when it was resolved (posted, voided or expired).
    pub resolved_at: Option<Timestamp>,
    /// The serial number of the reservation (reserve, post, void).
    pub serial: Option<Serial>,
}

impl Ledger {
    /// Movements on `account`, newest first, at most `limit` (capped at [`HISTORY_ROWS_MAX`]).
    pub async fn history(&self, account: AccountId, limit: i64) -> Result<Vec<Movement>, LedgerError> {
        let sql = format!(
            "SELECT {TRANSFER_COLUMNS}, p.status, p.resolved_at, s.serial FROM transfers t \
             LEFT JOIN pending_transfers p ON p.transfer_id = t.id \
             LEFT JOIN serials s ON s.reserve_transfer_id = COALESCE(t.pending_id, t.id) \
             WHERE t.debit_account_id = $1 OR t.credit_account_id = $1 \
             ORDER BY t.created_at DESC, t.id DESC LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.0)
            .bind(limit.clamp(0, HISTORY_ROWS_MAX))
            .fetch_all(self.store.pool())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let transfer = transfer_from_row(&row)?;
            let record = format!("transfers/{}", transfer.id);
            let status = match row.try_get::<Option<String>, _>(13)? {
                Some(s) => Some(PendingStatus::parse(&s).ok_or_else(|| StoreError::corrupt(&record, "bad status"))?),
                None => None,
            };
            let serial = match row.try_get::<Option<String>, _>(15)? {
                Some(s) => Some(Serial::parse(&s).map_err(|e| StoreError::corrupt(&record, e.to_string()))?),
                None => None,
            };
            let sign = if transfer.credit_account == account { 1 } else { -1 };
            // An order's hold credits this account (pending): nothing usable until it is
            // posted; a stamping's reservation debits it: the unit is held at once.
            let held_for_owner = transfer.credit_account == account;
            let available_delta = match transfer.kind {
                TransferKind::Mint | TransferKind::Grant => sign * transfer.amount,
                TransferKind::Reserve if held_for_owner => 0,
                TransferKind::Reserve => -transfer.amount,
                TransferKind::Void if held_for_owner => 0,
                TransferKind::Void => transfer.amount,
                TransferKind::Post if held_for_owner => transfer.amount,
                TransferKind::Post => 0,
            };
            out.push(Movement {
                transfer,
                available_delta,
                status,
                resolved_at: row.try_get::<Option<i64>, _>(14)?.map(Timestamp),
                serial,
            });
        }
        Ok(out)
    }
}
