//! Reading records back from rows (of sqlx's `Any` and PostgreSQL drivers and of rusqlite), and
//! the bind values of the writer's statements.

use meterai_core::{DocType, Timestamp};
use sqlx::Row;

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
/// How many columns [`ACCOUNT_COLUMNS`] names.
pub(crate) const ACCOUNT_COLUMN_COUNT: usize = 7;

/// One result row, whichever driver read it: the parsers below read records through this.
pub(crate) trait Cells {
    /// Column `index` as text, `None` for NULL.
    fn text(&self, index: usize) -> Result<Option<String>, StoreError>;
    /// Column `index` as a 64-bit integer, `None` for NULL.
    fn int(&self, index: usize) -> Result<Option<i64>, StoreError>;

    /// Column `index`, which must not be NULL, as text.
    fn req_text(&self, index: usize) -> Result<String, StoreError> {
        self.text(index)?.ok_or_else(|| StoreError::corrupt("row", format!("column {index} is NULL")))
    }

    /// Column `index`, which must not be NULL, as an integer.
    fn req_int(&self, index: usize) -> Result<i64, StoreError> {
        self.int(index)?.ok_or_else(|| StoreError::corrupt("row", format!("column {index} is NULL")))
    }
}

/// The columns of `row` from `first` on, as a row of their own: for a statement that returns
/// records of two kinds side by side in one row.
pub(crate) struct ColumnsFrom<'a, C> {
    /// The whole row.
    pub row: &'a C,
    /// Its column that is column 0 here.
    pub first: usize,
}

impl<C: Cells> Cells for ColumnsFrom<'_, C> {
    fn text(&self, index: usize) -> Result<Option<String>, StoreError> {
        self.row.text(self.first + index)
    }
    fn int(&self, index: usize) -> Result<Option<i64>, StoreError> {
        self.row.int(self.first + index)
    }
}

/// `Cells` for a sqlx row type (the orphan rule forbids one blanket impl beside rusqlite's).
macro_rules! sqlx_cells {
    ($row:ty) => {
        impl Cells for $row {
            fn text(&self, index: usize) -> Result<Option<String>, StoreError> {
                Ok(self.try_get::<Option<String>, _>(index)?)
            }
            fn int(&self, index: usize) -> Result<Option<i64>, StoreError> {
                Ok(self.try_get::<Option<i64>, _>(index)?)
            }
        }
    };
}
sqlx_cells!(sqlx::any::AnyRow);
sqlx_cells!(sqlx::postgres::PgRow);

impl Cells for rusqlite::Row<'_> {
    fn text(&self, index: usize) -> Result<Option<String>, StoreError> {
        Ok(self.get::<_, Option<String>>(index)?)
    }
    fn int(&self, index: usize) -> Result<Option<i64>, StoreError> {
        Ok(self.get::<_, Option<i64>>(index)?)
    }
}

/// The SHA-256s (lowercase hex) in the first column of `rows`, read from `record`.
pub(crate) fn sha256s_from(rows: &[sqlx::any::AnyRow], record: &str) -> Result<Vec<[u8; 32]>, StoreError> {
    rows.iter()
        .map(|row| {
            let text: String = row.try_get(0)?;
            unhex32(&text).ok_or_else(|| StoreError::corrupt(record, format!("bad SHA-256 {text:?}")))
        })
        .collect()
}

pub(crate) fn transfer_id_from(text: &str, record: &str) -> Result<TransferId, StoreError> {
    TransferId::parse(text).ok_or_else(|| StoreError::corrupt(record, format!("bad transfer id {text:?}")))
}

/// Parses the first 13 columns of a row selected with [`TRANSFER_COLUMNS`].
pub(crate) fn transfer_from_row(row: &impl Cells) -> Result<Transfer, StoreError> {
    let id_text = row.req_text(0)?;
    let record = format!("transfers/{id_text}");
    let id = transfer_id_from(&id_text, &record)?;
    let kind_text = row.req_text(1)?;
    let kind = TransferKind::parse(&kind_text)
        .ok_or_else(|| StoreError::corrupt(&record, format!("bad kind {kind_text:?}")))?;
    let pending_id = match row.text(5)? {
        Some(text) => Some(transfer_id_from(&text, &record)?),
        None => None,
    };
    let sha = row.text(9)?;
    let doc_type = row.text(10)?;
    let stamped_at = row.int(11)?;
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
        debit_account: AccountId(row.req_int(2)?),
        credit_account: AccountId(row.req_int(3)?),
        amount: row.req_int(4)?,
        pending_id,
        timeout_ms: row.int(6)?,
        reason: row.req_text(7)?,
        reference: row.req_text(8)?,
        stamp,
        created_at: Timestamp(row.req_int(12)?),
    })
}

/// Parses a row selected with [`ACCOUNT_COLUMNS`].
pub(crate) fn balance_from_row(row: &impl Cells) -> Result<Balance, StoreError> {
    let id = row.req_int(0)?;
    let kind_text = row.req_text(1)?;
    let kind = AccountKind::parse(&kind_text)
        .ok_or_else(|| StoreError::corrupt(format!("accounts/{id}"), format!("bad kind {kind_text:?}")))?;
    let limited = row.req_int(2)?;
    Ok(Balance {
        account: AccountId(id),
        kind,
        debits_must_not_exceed_credits: limited != 0,
        debits_pending: row.req_int(3)?,
        debits_posted: row.req_int(4)?,
        credits_pending: row.req_int(5)?,
        credits_posted: row.req_int(6)?,
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

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{Null, ToSqlOutput};
        Ok(match self {
            Val::Int(v) => ToSqlOutput::from(*v),
            Val::Text(t) => ToSqlOutput::from(t.as_str()),
            Val::NullInt | Val::NullText => ToSqlOutput::from(Null),
        })
    }
}
