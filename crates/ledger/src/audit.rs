//! The audit: recompute every balance from the immutable transfers and check every invariant.
//!
//! It reads one consistent snapshot (a REPEATABLE READ transaction on PostgreSQL, a read
//! transaction on SQLite's WAL) so that it can run while the ledger is busy.

use std::collections::HashMap;

use meterai_core::{Serial, Timestamp};
use sqlx::Row;

use crate::error::{LedgerError, StoreError};
use crate::ledger::Ledger;
use crate::rows::{ACCOUNT_COLUMNS, balance_from_row};
use crate::store::Backend;
use crate::types::{AccountId, Balance};

/// How long past its timeout a reservation may stay pending before the audit calls it a
/// violation, in milliseconds: the sweeper runs periodically, not at the exact millisecond.
pub const AUDIT_OVERDUE_GRACE_MS: i64 = 60_000;

/// One check the audit ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCheck {
    /// Short stable name (`balances_recomputed`, ...).
    pub name: &'static str,
    /// What it checks, for the report.
    pub description: &'static str,
    /// Records it looked at.
    pub records: u64,
}

/// One broken invariant, naming the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The check that found it.
    pub check: &'static str,
    /// The record (`accounts/4`, `transfers/<id>`, `serials/<sn>`).
    pub record: String,
    /// What is wrong.
    pub detail: String,
}

/// The audit's findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// The clock's time when the audit ran.
    pub audited_at: Timestamp,
    /// Every check, in order.
    pub checks: Vec<AuditCheck>,
    /// Every violation found (empty when clean).
    pub violations: Vec<Violation>,
}

impl AuditReport {
    /// No violation.
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }
}

struct Audit {
    checks: Vec<AuditCheck>,
    violations: Vec<Violation>,
}

impl Audit {
    fn check(&mut self, name: &'static str, description: &'static str, records: usize) {
        self.checks.push(AuditCheck { name, description, records: records as u64 });
    }

    fn violation(&mut self, check: &'static str, record: String, detail: String) {
        self.violations.push(Violation { check, record, detail });
    }
}

const CHECK_BALANCES: &str = "balances_recomputed";
const CHECK_DOUBLE_ENTRY: &str = "debits_equal_credits";
const CHECK_LIMITS: &str = "limits_respected";
const CHECK_RESOLUTIONS: &str = "reservations_resolve_once";
const CHECK_SERIALS: &str = "serials_one_fate";
const CHECK_STAMPED: &str = "stamped_equals_consumed";
const CHECK_OVERDUE: &str = "no_overdue_pending";

/// Sums per account: posted debits, posted credits, held debits, held credits.
type Sums = HashMap<i64, [i64; 4]>;

impl Ledger {
    /// Audits the whole ledger (see the module docs).
    pub async fn audit(&self) -> Result<AuditReport, LedgerError> {
        let now = self.clock.now();
        let begin = match self.store.backend() {
            Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            Backend::Sqlite => "BEGIN",
        };
        let mut tx = self.store.pool().begin_with(begin).await?;
        let mut audit = Audit { checks: Vec::new(), violations: Vec::new() };

        // Balances recomputed from transfers: posted from mint/grant/post, held from
        // reservations minus their resolutions (post, void) and expiries.
        // Stored balances: each account's row plus its stripes (migration 0005).
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM account_balances ORDER BY id");
        let accounts: Vec<Balance> = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(balance_from_row)
            .collect::<Result<_, StoreError>>()?;
        let mut sums: Sums = HashMap::new();
        for (side, column) in [(0usize, "debit_account_id"), (1, "credit_account_id")] {
            let sql = format!(
                "SELECT t.{column}, \
                 CAST(SUM(CASE WHEN t.kind IN ('mint', 'grant', 'post') THEN t.amount ELSE 0 END) AS BIGINT), \
                 CAST(SUM(CASE WHEN t.kind = 'reserve' THEN t.amount \
                               WHEN t.kind IN ('post', 'void') THEN -t.amount ELSE 0 END) AS BIGINT), \
                 CAST(SUM(CASE WHEN t.kind = 'reserve' AND p.status = 'expired' THEN t.amount ELSE 0 END) AS BIGINT) \
                 FROM transfers t LEFT JOIN pending_transfers p ON p.transfer_id = t.id GROUP BY t.{column}"
            );
            for row in sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *tx).await? {
                let id: i64 = row.try_get(0)?;
                let posted: i64 = row.try_get(1)?;
                let held: i64 = row.try_get::<i64, _>(2)? - row.try_get::<i64, _>(3)?;
                let entry = sums.entry(id).or_insert([0; 4]);
                entry[side] = posted;
                entry[2 + side] = held;
            }
        }
        for b in &accounts {
            let s = sums.remove(&b.account.0).unwrap_or([0; 4]);
            let stored = [b.debits_posted, b.credits_posted, b.debits_pending, b.credits_pending];
            let names = ["debits_posted", "credits_posted", "debits_pending", "credits_pending"];
            for ((name, stored), recomputed) in names.iter().zip(stored).zip(s) {
                if stored != recomputed {
                    audit.violation(
                        CHECK_BALANCES,
                        format!("accounts/{}", b.account.0),
                        format!("{name} is {stored}, transfers give {recomputed}"),
                    );
                }
            }
        }
        for id in sums.keys() {
            audit.violation(CHECK_BALANCES, format!("accounts/{id}"), "transfers name a missing account".into());
        }
        audit.check(CHECK_BALANCES, "every balance equals the sum of its transfers", accounts.len());

        let total = |f: fn(&Balance) -> i64| accounts.iter().map(f).fold(0i128, |a, v| a + i128::from(v));
        if total(|b| b.debits_posted) != total(|b| b.credits_posted) {
            audit.violation(CHECK_DOUBLE_ENTRY, "accounts".into(), "posted debits differ from posted credits".into());
        }
        if total(|b| b.debits_pending) != total(|b| b.credits_pending) {
            audit.violation(CHECK_DOUBLE_ENTRY, "accounts".into(), "held debits differ from held credits".into());
        }
        audit.check(CHECK_DOUBLE_ENTRY, "total debits equal total credits (posted and held)", accounts.len());

        for b in &accounts {
            let negative = [b.debits_pending, b.debits_posted, b.credits_pending, b.credits_posted].iter().any(|&v| v < 0);
            if negative || (b.debits_must_not_exceed_credits && b.available() < 0) {
                audit.violation(
                    CHECK_LIMITS,
                    format!("accounts/{}", b.account.0),
                    format!("balance below its limit ({} available)", b.available()),
                );
            }
        }
        audit.check(CHECK_LIMITS, "no limited account below zero available, no negative column", accounts.len());

        self.audit_reservations(&mut tx, &mut audit).await?;

        let stamped: i64 = sqlx::query("SELECT COUNT(*) FROM serials WHERE state = 'stamped'")
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        let consumed = accounts.iter().find(|b| b.account == AccountId::CONSUMED).map_or(0, |b| b.credits_posted);
        if stamped != consumed {
            audit.violation(
                CHECK_STAMPED,
                format!("accounts/{}", AccountId::CONSUMED.0),
                format!("{stamped} stamped serial numbers but {consumed} consumed units"),
            );
        }
        audit.check(CHECK_STAMPED, "stamped serial numbers equal consumed units", 1);

        let overdue = sqlx::query(
            "SELECT transfer_id, expires_at FROM pending_transfers WHERE status = 'pending' AND expires_at < $1 ORDER BY transfer_id",
        )
        .bind(now.0.saturating_sub(AUDIT_OVERDUE_GRACE_MS))
        .fetch_all(&mut *tx)
        .await?;
        for row in &overdue {
            let id: String = row.try_get(0)?;
            let expires_at: i64 = row.try_get(1)?;
            audit.violation(CHECK_OVERDUE, format!("transfers/{id}"), format!("pending past its timeout ({expires_at} ms)"));
        }
        audit.check(CHECK_OVERDUE, "no reservation pending longer than its timeout plus grace", overdue.len());
        tx.commit().await?;
        Ok(AuditReport { audited_at: now, checks: audit.checks, violations: audit.violations })
    }

    async fn audit_reservations(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        audit: &mut Audit,
    ) -> Result<(), LedgerError> {
        // Each reservation with its pending row, its resolving transfer and its serial number.
        let rows = sqlx::query(
            "SELECT t.id, t.debit_account_id, p.status, p.resolved_by, r.id, r.kind, r.doc_sha256, r.doc_type, \
             r.stamped_at, s.serial, s.seq, s.state, s.owner_account_id, s.doc_sha256, s.doc_type, s.stamped_at \
             FROM transfers t LEFT JOIN pending_transfers p ON p.transfer_id = t.id \
             LEFT JOIN transfers r ON r.pending_id = t.id \
             LEFT JOIN serials s ON s.reserve_transfer_id = t.id WHERE t.kind = 'reserve'",
        )
        .fetch_all(&mut **tx)
        .await?;
        for row in &rows {
            let id: String = row.try_get(0)?;
            let record = format!("transfers/{id}");
            let status: Option<String> = row.try_get(2)?;
            let resolved_by: Option<String> = row.try_get(3)?;
            let resolver: Option<String> = row.try_get(4)?;
            let resolver_kind: Option<String> = row.try_get(5)?;
            let expected_kind = match status.as_deref() {
                Some("posted") => Some("post"),
                Some("voided") => Some("void"),
                Some("pending") | Some("expired") => None,
                _ => {
                    audit.violation(CHECK_RESOLUTIONS, record.clone(), format!("no valid pending row ({status:?})"));
                    continue;
                }
            };
            if resolver_kind.as_deref() != expected_kind || resolved_by != resolver {
                audit.violation(
                    CHECK_RESOLUTIONS,
                    record.clone(),
                    format!("status {status:?} but resolved by {resolver:?} ({resolver_kind:?}), recorded {resolved_by:?}"),
                );
            }
            let serial_text = row.try_get::<Option<String>, _>(9)?;
            // An order's hold of stock has no serial number; a stamping's reservation has one.
            let hold = row.try_get::<i64, _>(1)? == AccountId::STOCK.0;
            if hold {
                if serial_text.is_some() {
                    audit.violation(CHECK_SERIALS, record, "hold of stock with a serial number".into());
                } else if resolver_kind.as_deref() == Some("post") && row.try_get::<Option<String>, _>(6)?.is_some() {
                    audit.violation(CHECK_RESOLUTIONS, record, "hold of stock posted with a stamp".into());
                }
                continue;
            }
            let Some(serial_text) = serial_text else {
                audit.violation(CHECK_SERIALS, record, "reservation without a serial number".into());
                continue;
            };
            let serial_record = format!("serials/{serial_text}");
            let expected_state = match status.as_deref() {
                Some("pending") => "reserved",
                Some("posted") => "stamped",
                _ => "void",
            };
            let state: String = row.try_get(11)?;
            if state != expected_state {
                audit.violation(CHECK_SERIALS, serial_record.clone(), format!("state {state} but reservation {status:?}"));
            }
            let owner: i64 = row.try_get(12)?;
            if owner != row.try_get::<i64, _>(1)? {
                audit.violation(CHECK_SERIALS, serial_record.clone(), "owner differs from the reserving account".into());
            }
            let seq: i64 = row.try_get(10)?;
            let canonical = u64::try_from(seq).ok().and_then(|s| Serial::from_sequence(&self.series, s, &self.key).ok());
            if canonical.map(|c| c.to_string()) != Some(serial_text.clone()) {
                audit.violation(CHECK_SERIALS, serial_record.clone(), format!("does not encode its sequence number {seq}"));
            }
            if state == "stamped" {
                let bound = (
                    row.try_get::<Option<String>, _>(13)?,
                    row.try_get::<Option<String>, _>(14)?,
                    row.try_get::<Option<i64>, _>(15)?,
                );
                let posted = (
                    row.try_get::<Option<String>, _>(6)?,
                    row.try_get::<Option<String>, _>(7)?,
                    row.try_get::<Option<i64>, _>(8)?,
                );
                if bound != posted || bound.0.is_none() {
                    audit.violation(CHECK_SERIALS, serial_record, "binding differs from the post transfer".into());
                }
            }
        }
        audit.check(CHECK_RESOLUTIONS, "each reservation resolved at most once, by the transfer it names", rows.len());

        let orphans = sqlx::query(
            "SELECT r.id FROM transfers r LEFT JOIN transfers t ON t.id = r.pending_id \
             WHERE r.kind IN ('post', 'void') AND (t.id IS NULL OR t.kind <> 'reserve') ORDER BY r.id",
        )
        .fetch_all(&mut **tx)
        .await?;
        for row in &orphans {
            let id: String = row.try_get(0)?;
            audit.violation(CHECK_RESOLUTIONS, format!("transfers/{id}"), "resolves no reservation".into());
        }
        let stray = sqlx::query(
            "SELECT s.serial FROM serials s LEFT JOIN transfers t ON t.id = s.reserve_transfer_id \
             WHERE t.id IS NULL OR t.kind <> 'reserve' ORDER BY s.serial",
        )
        .fetch_all(&mut **tx)
        .await?;
        for row in &stray {
            let serial: String = row.try_get(0)?;
            audit.violation(CHECK_SERIALS, format!("serials/{serial}"), "matches no reservation".into());
        }
        audit.check(CHECK_SERIALS, "each serial number has one fate matching its one reservation", rows.len());
        Ok(())
    }
}
