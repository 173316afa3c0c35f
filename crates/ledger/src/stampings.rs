//! Stampings made through the web service: one record per (user, Idempotency-Key), from
//! "processing" to "stamped" (with the appended revision kept forever) or "failed" (with the
//! code, and whether the reserved unit went back).

use meterai_core::{DocType, Serial, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::batch::{Done, Op, StampingBegun, check_text, refusal_code};
use crate::error::{LedgerError, StoreError};
use crate::ledger::Ledger;
use crate::rows::{sha256s_from, transfer_id_from};
use crate::store::{hex, unhex32};
use crate::types::{AccountId, Receipt, Reserve, TransferId};

/// Most stampings one listing returns.
pub const STAMPINGS_PAGE_MAX: u32 = 100;
/// Age after which a stamping still "processing" with no open reservation is settled as
/// interrupted, in milliseconds: far longer than the moment between recording a stamping and
/// reserving its unit, so only a stamping whose node died in between is caught.
pub const ABANDONED_STAMPING_AGE_MS: i64 = 10 * 60 * 1000;
/// Most abandoned stampings one settling pass handles (the next pass takes the rest).
pub const SETTLE_BATCH_MAX: i64 = 500;
/// The code an interrupted stamping ends with.
pub const INTERRUPTED_CODE: &str = "INTERRUPTED";

/// Longest stamped tail kept, in bytes: an incremental update with a signature is a few KB; a
/// megabyte means something is wrong and must not be stored silently.
pub const TAIL_BYTES_MAX: usize = 1 << 20;

/// Where a stamping stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StampingStatus {
    /// Reserved and being stamped (or interrupted: the sweeper returns the unit).
    Processing,
    /// Done: the serial is bound to the stamped document.
    Stamped,
    /// Refused or failed; see the code and whether the quota went back.
    Failed,
}

impl StampingStatus {
    /// Lowercase name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            StampingStatus::Processing => "processing",
            StampingStatus::Stamped => "stamped",
            StampingStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<StampingStatus> {
        [StampingStatus::Processing, StampingStatus::Stamped, StampingStatus::Failed].into_iter().find(|k| k.as_str() == s)
    }
}

/// A stamping to record before any quota is touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStamping {
    /// The stamping's id, also the id of its reservation transfer.
    pub id: TransferId,
    /// The user stamping.
    pub user_id: i64,
    /// The client's Idempotency-Key: one stamping per user and key.
    pub idempotency_key: String,
    /// SHA-256 of the whole request (file and fields), to tell a replay from a different request.
    pub request_sha256: [u8; 32],
    /// The uploaded file's name, for history.
    pub file_name: String,
    /// SHA-256 of the uploaded (original) PDF.
    pub input_sha256: [u8; 32],
    /// Size of the original PDF.
    pub input_bytes: i64,
    /// The 1-based page stamped.
    pub page: u32,
    /// The official document type.
    pub doc_type: DocType,
    /// The document's own number.
    pub doc_number: String,
    /// The document's date as given.
    pub doc_date: String,
}

/// A stamping as stored (without its tail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamping {
    /// Id (= the reservation's transfer id).
    pub id: TransferId,
    /// Owner.
    pub user_id: i64,
    /// The client's Idempotency-Key.
    pub idempotency_key: String,
    /// SHA-256 of the request that created it.
    pub request_sha256: [u8; 32],
    /// Where it stands.
    pub status: StampingStatus,
    /// The uploaded file's name.
    pub file_name: String,
    /// SHA-256 of the original.
    pub input_sha256: [u8; 32],
    /// Size of the original.
    pub input_bytes: i64,
    /// The page stamped.
    pub page: u32,
    /// Document type.
    pub doc_type: DocType,
    /// Document number.
    pub doc_number: String,
    /// Document date.
    pub doc_date: String,
    /// The serial number, once reserved.
    pub serial: Option<Serial>,
    /// SHA-256 of the stamped document (original + tail), once stamped.
    pub doc_sha256: Option<[u8; 32]>,
    /// For failed stampings: the stable code.
    pub error_code: Option<String>,
    /// For failed stampings: what happened.
    pub error_message: Option<String>,
    /// For failed stampings: whether the reserved unit went back to the quota.
    pub quota_returned: bool,
    /// When it was requested.
    pub created_at: Timestamp,
    /// When it was stamped or failed.
    pub finished_at: Option<Timestamp>,
}

/// What [`Ledger::begin_stamping`] did.
#[derive(Debug)]
pub enum Begun {
    /// Recorded "processing" with its unit and serial number reserved: the caller stamps, then
    /// posts (`Ledger::post_stamping`) or voids.
    Reserved(Stamping, Receipt),
    /// Recorded "failed": the reservation was refused for this reason (no quota); nothing is
    /// held.
    Refused(Stamping, LedgerError),
    /// The user already used this Idempotency-Key: the earlier stamping.
    Existing(Stamping),
}

impl Stamping {
    /// The record `new` became at `created_at`.
    fn recorded(new: NewStamping, status: StampingStatus, serial: Option<Serial>, created_at: Timestamp) -> Stamping {
        Stamping {
            id: new.id,
            user_id: new.user_id,
            idempotency_key: new.idempotency_key,
            request_sha256: new.request_sha256,
            status,
            file_name: new.file_name,
            input_sha256: new.input_sha256,
            input_bytes: new.input_bytes,
            page: new.page,
            doc_type: new.doc_type,
            doc_number: new.doc_number,
            doc_date: new.doc_date,
            serial,
            doc_sha256: None,
            error_code: None,
            error_message: None,
            quota_returned: false,
            created_at,
            finished_at: None,
        }
    }
}

const STAMPING_COLUMNS: &str = "id, user_id, idempotency_key, request_sha256, status, file_name, input_sha256, \
    input_bytes, page, doc_type, doc_number, doc_date, serial, doc_sha256, error_code, error_message, \
    quota_returned, created_at, finished_at";

fn stamping_from_row(row: &AnyRow) -> Result<Stamping, StoreError> {
    let id_text: String = row.try_get(0)?;
    let record = format!("stampings/{id_text}");
    let hash = |i: usize| -> Result<[u8; 32], StoreError> {
        let text: String = row.try_get(i)?;
        unhex32(&text).ok_or_else(|| StoreError::corrupt(&record, "bad hash"))
    };
    let status_text: String = row.try_get(4)?;
    let doc_type_text: String = row.try_get(9)?;
    let serial = match row.try_get::<Option<String>, _>(12)? {
        Some(text) => Some(Serial::parse(&text).map_err(|e| StoreError::corrupt(&record, e.to_string()))?),
        None => None,
    };
    let doc_sha256 = match row.try_get::<Option<String>, _>(13)? {
        Some(text) => Some(unhex32(&text).ok_or_else(|| StoreError::corrupt(&record, "bad doc_sha256"))?),
        None => None,
    };
    let page: i64 = row.try_get(8)?;
    Ok(Stamping {
        id: transfer_id_from(&id_text, &record)?,
        user_id: row.try_get(1)?,
        idempotency_key: row.try_get(2)?,
        request_sha256: hash(3)?,
        status: StampingStatus::parse(&status_text).ok_or_else(|| StoreError::corrupt(&record, "bad status"))?,
        file_name: row.try_get(5)?,
        input_sha256: hash(6)?,
        input_bytes: row.try_get(7)?,
        page: u32::try_from(page).map_err(|_| StoreError::corrupt(&record, "bad page"))?,
        doc_type: DocType::from_code(&doc_type_text).map_err(|e| StoreError::corrupt(&record, e.to_string()))?,
        doc_number: row.try_get(10)?,
        doc_date: row.try_get(11)?,
        serial,
        doc_sha256,
        error_code: row.try_get(14)?,
        error_message: row.try_get(15)?,
        quota_returned: row.try_get::<i64, _>(16)? != 0,
        created_at: Timestamp(row.try_get(17)?),
        finished_at: row.try_get::<Option<i64>, _>(18)?.map(Timestamp),
    })
}

/// The `settings` row holding where the retention pass of originals has got to
/// ([`PurgeCursor`] as "FINISHED_AT ID"): see [`Ledger::originals_unused_since`].
const PURGE_CURSOR_SETTING: &str = "originals_purge_cursor";

/// The sweeper's search for stampings a dead node left processing
/// ([`Ledger::settle_abandoned_stampings`]): those whose reservation came back (voided or
/// expired) and never-reserved ones begun before `$1`, oldest first, at most `$2`. It names the status its partial index (`stampings_processing`, migration 0009) holds,
/// so it reads the stampings in flight and not the history.
pub(crate) const ABANDONED_STAMPINGS_SQL: &str = "SELECT s.id, p.status, sr.serial FROM stampings s \
     LEFT JOIN pending_transfers p ON p.transfer_id = s.id \
     LEFT JOIN serials sr ON sr.reserve_transfer_id = s.id \
     WHERE s.status = 'processing' AND (p.status IN ('voided', 'expired') OR (p.status IS NULL AND s.created_at <= $1)) \
     ORDER BY s.created_at LIMIT $2";

/// The retention pass's search ([`Ledger::originals_unused_since`]): the originals of
/// stampings finished before the cutoff `$1`, after the cursor (`$3`, `$4`), that nothing needs
/// any more by the rules of `crate::originals::unneeded_condition` (drafts' cutoff `$2`), in
/// cursor order, at most `$5`. The cursor is a row comparison, which both databases turn into
/// a range of `stampings_by_finish` (migration 0010), so a page reads what follows the cursor.
pub(crate) fn originals_unused_since_sql() -> String {
    format!(
        "SELECT s.input_sha256, s.finished_at, s.id FROM stampings s \
         WHERE (s.finished_at, s.id) > ($3, $4) AND s.finished_at < $1 AND {condition} \
         ORDER BY s.finished_at, s.id LIMIT $5",
        condition = crate::originals::unneeded_condition("s.input_sha256"),
    )
}

/// Where a retention pass starts: after the stamping that finished at `finished_at` with `id`,
/// in (finish time, id) order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeCursor {
    /// When that stamping finished (ms).
    pub finished_at: i64,
    /// Its id (empty: before every stamping of that millisecond).
    pub id: String,
}

impl PurgeCursor {
    fn parse(stored: &str) -> Option<PurgeCursor> {
        let (finished_at, id) = stored.split_once(' ')?;
        Some(PurgeCursor { finished_at: finished_at.parse().ok()?, id: id.to_string() })
    }
}

impl Ledger {
    /// Records a stamping and reserves its unit and serial number in one transaction (the
    /// reservation's id is the stamping's, `timeout_ms` its timeout, `quota_account` the
    /// owner's quota), unless the owner already used its Idempotency-Key: then the earlier
    /// stamping is returned untouched, whatever its request was (comparing `request_sha256` is
    /// the caller's decision). A refused reservation (no quota) records the stamping as failed
    /// with the refusal's code, and nothing is held.
    pub async fn begin_stamping(&self, new: NewStamping, quota_account: AccountId, timeout_ms: i64) -> Result<Begun, LedgerError> {
        let reserve = Reserve { id: new.id, account: quota_account, timeout_ms, reference: format!("stamping {}", new.id) };
        let user_id = new.user_id;
        let begun = match self.submit(Op::BeginStamping(Box::new(new.clone()), reserve)).await? {
            Done::Stamping(begun) => begun,
            Done::Receipt(_) | Done::Expire(_) => return Err(LedgerError::Stopped),
        };
        Ok(match begun {
            StampingBegun::Reserved(receipt) => {
                let created_at = receipt.transfer.created_at;
                let stamping = Stamping::recorded(new, StampingStatus::Processing, receipt.serial, created_at);
                Begun::Reserved(stamping, receipt)
            }
            StampingBegun::Refused(error, at) => {
                let mut stamping = Stamping::recorded(new, StampingStatus::Failed, None, at);
                stamping.error_code = Some(refusal_code(&error).to_string());
                stamping.error_message = Some(error.to_string());
                stamping.finished_at = Some(at);
                Begun::Refused(stamping, error)
            }
            StampingBegun::Existing(earlier) => {
                let found = self.stamping(user_id, earlier).await?;
                Begun::Existing(found.ok_or_else(|| StoreError::corrupt(format!("stampings/{earlier}"), "vanished after it was found"))?)
            }
        })
    }

    /// Marks a processing stamping failed with a stable code; `serial` is the one reserved (and
    /// now void), if the reservation happened.
    pub async fn finish_failed(
        &self,
        id: TransferId,
        serial: Option<&Serial>,
        code: &str,
        message: &str,
        quota_returned: bool,
    ) -> Result<(), LedgerError> {
        let message: String = message.chars().take(crate::TEXT_BYTES_MAX / 4).filter(|c| *c != '\0').collect();
        sqlx::query(
            "UPDATE stampings SET status = 'failed', serial = $2, error_code = $3, error_message = $4, \
             quota_returned = $5, finished_at = $6 WHERE id = $1 AND status = 'processing'",
        )
        .bind(id.to_string())
        .bind(serial.map(ToString::to_string))
        .bind(code)
        .bind(message)
        .bind(i64::from(quota_returned))
        .bind(self.clock.now().0)
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// Settles stampings a node left "processing" when it died: one whose reservation was
    /// voided or expired (the sweeper returned the unit), or that never got a reservation and is
    /// older than [`ABANDONED_STAMPING_AGE_MS`], becomes failed with [`INTERRUPTED_CODE`] and
    /// "quota returned". A reservation still pending is left to the sweeper; a posted one
    /// cannot be here, since a post marks its stamping stamped in the same transaction. Safe to
    /// run on several nodes at once (each update is conditional). Returns how many it settled.
    pub async fn settle_abandoned_stampings(&self) -> Result<usize, LedgerError> {
        let cutoff = self.clock.now().0.saturating_sub(ABANDONED_STAMPING_AGE_MS);
        let rows = sqlx::query(ABANDONED_STAMPINGS_SQL)
        .bind(cutoff)
        .bind(SETTLE_BATCH_MAX)
        .fetch_all(self.store.pool())
        .await?;
        let mut settled = 0;
        for row in rows {
            let id_text: String = row.try_get(0).map_err(StoreError::from)?;
            let id = transfer_id_from(&id_text, "stampings")?;
            let serial = match row.try_get::<Option<String>, _>(2).map_err(StoreError::from)? {
                Some(text) => Some(Serial::parse(&text).map_err(|e| StoreError::corrupt(format!("serials/{text}"), e.to_string()))?),
                None => None,
            };
            let message = match serial {
                Some(_) => "the stamping was interrupted (the server stopped); the reserved unit was returned and its serial number is void",
                None => "the stamping was interrupted (the server stopped) before a unit was reserved; nothing was charged",
            };
            self.finish_failed(id, serial.as_ref(), INTERRUPTED_CODE, message, true).await?;
            settled += 1;
        }
        Ok(settled)
    }

    /// The user's stamping with this id (another user's is `None`).
    pub async fn stamping(&self, user_id: i64, id: TransferId) -> Result<Option<Stamping>, LedgerError> {
        let sql = format!("SELECT {STAMPING_COLUMNS} FROM stampings WHERE id = $1 AND user_id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.to_string()).bind(user_id).fetch_optional(self.store.pool()).await?;
        Ok(match row {
            Some(row) => Some(stamping_from_row(&row)?),
            None => None,
        })
    }

    /// The appended revision of the user's stamped stamping.
    pub async fn stamping_tail(&self, user_id: i64, id: TransferId) -> Result<Option<Vec<u8>>, LedgerError> {
        let row = sqlx::query("SELECT tail_hex FROM stampings WHERE id = $1 AND user_id = $2 AND status = 'stamped'")
            .bind(id.to_string())
            .bind(user_id)
            .fetch_optional(self.store.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let text: Option<String> = row.try_get(0)?;
        let text = text.ok_or_else(|| StoreError::corrupt(format!("stampings/{id}"), "stamped without a tail"))?;
        Ok(Some(meterai_core::hex::decode(&text).ok_or_else(|| StoreError::corrupt(format!("stampings/{id}"), "bad tail_hex"))?))
    }

    /// The user's stampings, newest first: at most `limit` (capped at [`STAMPINGS_PAGE_MAX`])
    /// after skipping `offset`.
    pub async fn stampings(&self, user_id: i64, limit: u32, offset: u64) -> Result<Vec<Stamping>, LedgerError> {
        let sql = format!(
            "SELECT {STAMPING_COLUMNS} FROM stampings WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user_id)
            .bind(i64::from(limit.min(STAMPINGS_PAGE_MAX)))
            .bind(i64::try_from(offset).unwrap_or(i64::MAX))
            .fetch_all(self.store.pool())
            .await?;
        rows.iter().map(|r| stamping_from_row(r).map_err(LedgerError::from)).collect()
    }
}

/// What a history listing shows: a status and a search text (file name, document number or
/// serial, case-insensitive), both optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StampingFilter {
    /// Only stampings in this status.
    pub status: Option<StampingStatus>,
    /// Only stampings whose file name, document number or serial contains this text.
    pub text: Option<String>,
}

impl StampingStatus {
    /// Parses `processing`, `stamped` or `failed`.
    pub fn from_name(s: &str) -> Option<StampingStatus> {
        StampingStatus::parse(s)
    }
}

impl Ledger {
    /// The user's stampings matching `filter`, newest first: at most `limit` (capped at
    /// [`STAMPINGS_PAGE_MAX`]) after skipping `offset`.
    pub async fn stampings_filtered(&self, user_id: i64, filter: &StampingFilter, limit: u32, offset: u64) -> Result<Vec<Stamping>, LedgerError> {
        let pattern = filter.text.as_deref().map(|t| {
            // LIKE's wildcards in the user's text match themselves.
            let escaped: String = t.to_lowercase().chars().flat_map(|c| if matches!(c, '%' | '_' | '\\') { vec!['\\', c] } else { vec![c] }).collect();
            format!("%{escaped}%")
        });
        if let Some(p) = &pattern {
            check_text("q", p)?;
        }
        let sql = format!(
            "SELECT {STAMPING_COLUMNS} FROM stampings WHERE user_id = $1 \
             AND ($2 = '' OR status = $2) \
             AND ($3 = '' OR LOWER(file_name) LIKE $3 ESCAPE '\\' OR LOWER(doc_number) LIKE $3 ESCAPE '\\' \
                  OR LOWER(COALESCE(serial, '')) LIKE $3 ESCAPE '\\') \
             ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user_id)
            .bind(filter.status.map(StampingStatus::as_str).unwrap_or(""))
            .bind(pattern.unwrap_or_default())
            .bind(i64::from(limit.min(STAMPINGS_PAGE_MAX)))
            .bind(i64::try_from(offset).unwrap_or(i64::MAX))
            .fetch_all(self.store.pool())
            .await?;
        rows.iter().map(|r| stamping_from_row(r).map_err(LedgerError::from)).collect()
    }

    /// The next SHA-256s of originals no stamping has needed since `cutoff` (every stamping of
    /// them finished before it) and no draft uploaded since `draft_cutoff`: their originals may
    /// go. Across all users, since originals are shared by content.
    ///
    /// A pass goes through the stampings in the order they finished (then by id), after where
    /// the last pass that called [`Ledger::record_purge_cursor`] left off, so the stampings
    /// of originals already purged are not found again (they were, and once more than `limit`
    /// of them had accumulated no pass found anything new). A stamping passed over because its
    /// original was still needed is not revisited: what needed it (a later stamping of that
    /// original, a draft) decides when it goes. Returns the hashes and where the next pass
    /// starts.
    pub async fn originals_unused_since(&self, cutoff: Timestamp, draft_cutoff: Timestamp, limit: i64) -> Result<(Vec<[u8; 32]>, PurgeCursor), LedgerError> {
        let stored: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
            .bind(PURGE_CURSOR_SETTING)
            .fetch_optional(self.store.pool())
            .await?;
        let after = stored.as_deref().and_then(PurgeCursor::parse).unwrap_or(PurgeCursor { finished_at: i64::MIN, id: String::new() });
        let rows = sqlx::query(sqlx::AssertSqlSafe(originals_unused_since_sql()))
        .bind(cutoff.0)
        .bind(draft_cutoff.0)
        .bind(after.finished_at)
        .bind(&after.id)
        .bind(limit)
        .fetch_all(self.store.pool())
        .await?;
        let next = match rows.last() {
            // A full page: the next pass starts after its last stamping.
            Some(last) if i64::try_from(rows.len()).unwrap_or(i64::MAX) >= limit => {
                PurgeCursor { finished_at: last.try_get(1).map_err(StoreError::from)?, id: last.try_get(2).map_err(StoreError::from)? }
            }
            // Everything finished before `cutoff` has been looked at (ids are never empty).
            _ => PurgeCursor { finished_at: cutoff.0, id: String::new() },
        };
        Ok((sha256s_from(&rows, "stampings")?, next))
    }

    /// Records where the next retention pass starts (see [`Ledger::originals_unused_since`]).
    pub async fn record_purge_cursor(&self, next: &PurgeCursor) -> Result<(), LedgerError> {
        sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value")
            .bind(PURGE_CURSOR_SETTING)
            .bind(format!("{} {}", next.finished_at, next.id))
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    /// The user's latest stamped stamping of the original with this SHA-256: re-uploading an
    /// original gives its stamped document back.
    pub async fn stamped_by_input(&self, user_id: i64, input_sha256: &[u8; 32]) -> Result<Option<Stamping>, LedgerError> {
        let sql = format!(
            "SELECT {STAMPING_COLUMNS} FROM stampings WHERE user_id = $1 AND input_sha256 = $2 AND status = 'stamped' \
             ORDER BY created_at DESC, id DESC LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user_id).bind(hex(input_sha256)).fetch_optional(self.store.pool()).await?;
        Ok(match row {
            Some(row) => Some(stamping_from_row(&row)?),
            None => None,
        })
    }
}
