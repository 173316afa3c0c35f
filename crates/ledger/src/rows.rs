//! Reading records back from rows, and building multi-row statements for both backends.

use meterai_core::{DocType, Timestamp};
use sqlx::any::AnyRow;
use sqlx::{Any, Row};

use crate::error::StoreError;
use crate::store::unhex32;
use crate::types::{AccountId, AccountKind, Balance, StampBinding, Transfer, TransferId, TransferKind};

/// Columns of `transfers` in the order [`transfer_from_row`] reads them, qualified by `t.`.
pub(crate) const TRANSFER_COLUMNS: &str = "t.id, t.kind, t.debit_account_id, t.credit_account_id, \
    t.amount, t.pending_id, t.timeout_ms, t.reason, t.reference, t.doc_sha256, t.doc_type, \
    t.stamped_at, t.created_at";

/// Columns of `accounts` in the order [`balance_from_row`] reads them.
pub(crate) const ACCOUNT_COLUMNS: &str = "id, kind, debits_must_not_exceed_credits, \
    debits_pending, debits_posted, credits_pending, credits_posted";

pub(crate) fn transfer_id_from(text: &str, record: &str) -> Result<TransferId, StoreError> {
    TransferId::parse(text).ok_or_else(|| StoreError::corrupt(record, format!("bad transfer id {text:?}")))
}

/// Parses the first 13 columns of a row selected with [`TRANSFER_COLUMNS`].
pub(crate) fn transfer_from_row(row: &AnyRow) -> Result<Transfer, StoreError> {
    let id_text: String = row.try_get(0)?;
    let record = format!("transfers/{id_text}");
    let id = transfer_id_from(&id_text, &record)?;
    let kind_text: String = row.try_get(1)?;
    let kind = TransferKind::parse(&kind_text)
        .ok_or_else(|| StoreError::corrupt(&record, format!("bad kind {kind_text:?}")))?;
    let pending_id = match row.try_get::<Option<String>, _>(5)? {
        Some(text) => Some(transfer_id_from(&text, &record)?),
        None => None,
    };
    let sha: Option<String> = row.try_get(9)?;
    let doc_type: Option<String> = row.try_get(10)?;
    let stamped_at: Option<i64> = row.try_get(11)?;
    let stamp = match (sha, doc_type, stamped_at) {
        (Some(sha), Some(doc_type), Some(at)) => Some(StampBinding {
            doc_sha256: unhex32(&sha).ok_or_else(|| StoreError::corrupt(&record, "bad doc_sha256"))?,
            doc_type: DocType::from_code(&doc_type)
                .map_err(|e| StoreError::corrupt(&record, e.to_string()))?,
            stamped_at: Timestamp(at),
        }),
        _ => None,
    };
    Ok(Transfer {
        id,
        kind,
        debit_account: AccountId(row.try_get(2)?),
        credit_account: AccountId(row.try_get(3)?),
        amount: row.try_get(4)?,
        pending_id,
        timeout_ms: row.try_get(6)?,
        reason: row.try_get(7)?,
        reference: row.try_get(8)?,
        stamp,
        created_at: Timestamp(row.try_get(12)?),
    })
}

/// Parses a row selected with [`ACCOUNT_COLUMNS`].
pub(crate) fn balance_from_row(row: &AnyRow) -> Result<Balance, StoreError> {
    let id: i64 = row.try_get(0)?;
    let kind_text: String = row.try_get(1)?;
    let kind = AccountKind::parse(&kind_text)
        .ok_or_else(|| StoreError::corrupt(format!("accounts/{id}"), format!("bad kind {kind_text:?}")))?;
    let limited: i64 = row.try_get(2)?;
    Ok(Balance {
        account: AccountId(id),
        kind,
        debits_must_not_exceed_credits: limited != 0,
        debits_pending: row.try_get(3)?,
        debits_posted: row.try_get(4)?,
        credits_pending: row.try_get(5)?,
        credits_posted: row.try_get(6)?,
    })
}

/// One bind value of a dynamically built statement.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    /// A 64-bit integer.
    Int(i64),
    /// Text.
    Text(String),
    /// NULL of integer type.
    NullInt,
    /// NULL of text type.
    NullText,
}

impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::Int(v)
    }
}

impl From<String> for Val {
    fn from(v: String) -> Val {
        Val::Text(v)
    }
}

impl From<&str> for Val {
    fn from(v: &str) -> Val {
        Val::Text(v.to_string())
    }
}

impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Val {
        v.map_or(Val::NullInt, Val::Int)
    }
}

impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Val {
        v.map_or(Val::NullText, Val::Text)
    }
}

/// A query over dynamically built SQL with its binds. Not cached as a prepared statement: row
/// counts vary per batch and would evict the static statements.
pub(crate) fn dynamic_query(
    sql: String,
    vals: Vec<Val>,
) -> sqlx::query::Query<'static, Any, sqlx::any::AnyArguments> {
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false);
    for val in vals {
        query = match val {
            Val::Int(v) => query.bind(v),
            Val::Text(v) => query.bind(v),
            Val::NullInt => query.bind(None::<i64>),
            Val::NullText => query.bind(None::<String>),
        };
    }
    query
}

/// `$1, $2, ...` for `count` binds starting after `offset`.
pub(crate) fn placeholders(offset: usize, count: usize) -> String {
    (offset + 1..=offset + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// A value as an SQL literal for both backends: integers as digits, text in single quotes with
/// quotes doubled (the SQL standard; PostgreSQL has standard_conforming_strings on, so a
/// backslash is an ordinary character), NULL as NULL. Text never contains NUL: the ledger
/// refuses it before it gets here, and `\0` is dropped here as a last guard.
pub(crate) fn literal(val: &Val) -> String {
    match val {
        Val::Int(v) => v.to_string(),
        Val::Text(t) => format!("'{}'", t.replace('\'', "''").replace('\0', "")),
        Val::NullInt | Val::NullText => "NULL".to_string(),
    }
}
