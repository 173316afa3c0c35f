//! The payment gateway's notifications, kept raw: every body received (genuine, forged or
//! malformed) is stored once, keyed by its SHA-256, with the verdict and what was done about
//! it. A notification is only a hint (its signature does not cover `transaction_status`); the
//! order moves on the gateway's status API's word, and this table is the audit trail.

use meterai_core::Timestamp;
use sqlx::Row;

use crate::error::LedgerError;
use crate::ledger::Ledger;
use crate::store::hex;

/// What the receiver made of a notification before acting on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Well-formed, signed with our server key, for one of our orders at its amount.
    Genuine,
    /// The signature does not match.
    Forged,
    /// Not the gateway's JSON.
    Malformed,
    /// Signed, but for no order of ours.
    UnknownOrder,
    /// Signed, but the amount is not the order's.
    WrongAmount,
}

impl Verdict {
    /// Lowercase name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Genuine => "genuine",
            Verdict::Forged => "forged",
            Verdict::Malformed => "malformed",
            Verdict::UnknownOrder => "unknown_order",
            Verdict::WrongAmount => "wrong_amount",
        }
    }
}

/// A notification as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxEntry {
    /// Row id.
    pub id: i64,
    /// The body as received.
    pub body: Vec<u8>,
    /// The `order_id` it names, if it parsed.
    pub order_id: Option<String>,
    /// The `transaction_status` it claims, if it parsed.
    pub transaction_status: Option<String>,
    /// The receiver's verdict.
    pub verdict: String,
    /// First received.
    pub received_at: Timestamp,
    /// How many times this exact body arrived.
    pub times_received: i64,
    /// What processing it led to (e.g. `credited`, `ignored: order expired`), once processed.
    pub outcome: Option<String>,
}

/// Whether a body was new to the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// First time: the caller processes it.
    New(i64),
    /// Seen before (a duplicate delivery): counted, not processed again.
    Duplicate(i64),
}

impl Ledger {
    /// Stores a notification body once (by SHA-256); a repeat only counts. `sha256` is the
    /// body's hash, computed by the caller (the ledger carries no hash function).
    pub async fn store_notification(
        &self,
        body: &[u8],
        sha256: &[u8; 32],
        order_id: Option<&str>,
        transaction_status: Option<&str>,
        verdict: Verdict,
    ) -> Result<Stored, LedgerError> {
        let now = self.clock.now();
        let key = hex(sha256);
        // Fields the sender chose are stored only if clean text (PostgreSQL refuses NUL).
        let clean = |s: Option<&str>| {
            s.filter(|t| !t.contains('\0') && t.len() <= crate::TEXT_BYTES_MAX)
                .map(str::to_string)
        };
        let inserted = sqlx::query(
            "INSERT INTO payment_notifications (body_sha256, body_hex, order_id, transaction_status, verdict, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (body_sha256) DO NOTHING",
        )
        .bind(&key)
        .bind(hex(body))
        .bind(clean(order_id))
        .bind(clean(transaction_status))
        .bind(verdict.as_str())
        .bind(now.0)
        .execute(self.store.pool())
        .await?;
        if inserted.rows_affected() == 0 {
            sqlx::query("UPDATE payment_notifications SET times_received = times_received + 1 WHERE body_sha256 = $1")
                .bind(&key)
                .execute(self.store.pool())
                .await?;
        }
        let id: i64 = sqlx::query("SELECT id FROM payment_notifications WHERE body_sha256 = $1")
            .bind(&key)
            .fetch_one(self.store.pool())
            .await?
            .try_get(0)?;
        Ok(if inserted.rows_affected() > 0 {
            Stored::New(id)
        } else {
            Stored::Duplicate(id)
        })
    }

    /// Records what processing notification `id` led to.
    pub async fn notification_processed(&self, id: i64, outcome: &str) -> Result<(), LedgerError> {
        sqlx::query(
            "UPDATE payment_notifications SET processed_at = $2, outcome = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(self.clock.now().0)
        .bind(outcome)
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// Every notification received for an order (or, with `None`, every one), oldest first.
    pub async fn notifications(
        &self,
        order_id: Option<&str>,
    ) -> Result<Vec<InboxEntry>, LedgerError> {
        let sql = "SELECT id, body_hex, order_id, transaction_status, verdict, received_at, times_received, outcome \
                   FROM payment_notifications WHERE (CAST($1 AS TEXT) IS NULL OR order_id = $1) ORDER BY received_at, id";
        let rows = sqlx::query(sql)
            .bind(order_id)
            .fetch_all(self.store.pool())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let body_hex: String = row.try_get(1)?;
            let body = meterai_core::hex::decode(&body_hex)
                .ok_or_else(|| crate::StoreError::corrupt(format!("payment_notifications/{}", row.try_get::<i64, _>(0).unwrap_or(-1)), "body is not hex"))?;
            out.push(InboxEntry {
                id: row.try_get(0)?,
                body,
                order_id: row.try_get(2)?,
                transaction_status: row.try_get(3)?,
                verdict: row.try_get(4)?,
                received_at: Timestamp(row.try_get(5)?),
                times_received: row.try_get(6)?,
                outcome: row.try_get(7)?,
            });
        }
        Ok(out)
    }
}
