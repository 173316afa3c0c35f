//! The serial-number registry as a verifier sees it.

use meterai_core::{DocType, Serial, Timestamp};
use sqlx::Row;

use crate::error::{LedgerError, StoreError};
use crate::ledger::Ledger;
use crate::store::unhex32;

/// Where a serial number stands. Every SN moves reserved -> stamped or reserved -> void, once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SerialState {
    /// Held by a stamping in flight.
    Reserved,
    /// On a document (bound to its hash).
    Stamped,
    /// Never used on a document; never reissued either.
    Void,
}

impl SerialState {
    fn parse(s: &str) -> Option<SerialState> {
        match s {
            "reserved" => Some(SerialState::Reserved),
            "stamped" => Some(SerialState::Stamped),
            "void" => Some(SerialState::Void),
            _ => None,
        }
    }

    /// Lowercase name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            SerialState::Reserved => "reserved",
            SerialState::Stamped => "stamped",
            SerialState::Void => "void",
        }
    }
}

/// What anyone may learn about a serial number: no owner, no reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicSerial {
    /// The serial number.
    pub serial: Serial,
    /// Its state.
    pub state: SerialState,
    /// For stamped SNs: the stamping time.
    pub stamped_at: Option<Timestamp>,
    /// For stamped SNs: the document type.
    pub doc_type: Option<DocType>,
    /// For stamped SNs: SHA-256 of the stamped revision.
    pub doc_sha256: Option<[u8; 32]>,
}

impl Ledger {
    /// Looks a serial number up for a verifier; `None` means well-formed but not issued here.
    pub async fn lookup_serial(&self, serial: &Serial) -> Result<Option<PublicSerial>, LedgerError> {
        // The registry is keyed by sequence number; an SN that decodes to none under our key
        // was never issued here.
        let Some(seq) = serial.sequence(&self.key).and_then(|seq| i64::try_from(seq).ok()) else { return Ok(None) };
        let row = sqlx::query("SELECT state, stamped_at, doc_type, doc_sha256 FROM serials WHERE seq = $1 AND serial = $2")
            .bind(seq)
            .bind(serial.to_string())
            .fetch_optional(self.store.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let record = format!("serials/{serial}");
        let state_text: String = row.try_get(0)?;
        let state = SerialState::parse(&state_text).ok_or_else(|| StoreError::corrupt(&record, "bad state"))?;
        let doc_type = match row.try_get::<Option<String>, _>(2)? {
            Some(code) => Some(DocType::from_code(&code).map_err(|e| StoreError::corrupt(&record, e.to_string()))?),
            None => None,
        };
        let doc_sha256 = match row.try_get::<Option<String>, _>(3)? {
            Some(h) => Some(unhex32(&h).ok_or_else(|| StoreError::corrupt(&record, "bad doc_sha256"))?),
            None => None,
        };
        Ok(Some(PublicSerial {
            serial: *serial,
            state,
            stamped_at: row.try_get::<Option<i64>, _>(1)?.map(Timestamp),
            doc_type,
            doc_sha256,
        }))
    }
}
