//! Verification against the registry: the engine's verifier, with each e-Meterai SN looked up
//! in the ledger (STAMPED / VOID / RESERVED / UNKNOWN, or MISTYPED when the check character
//! fails).

use meterai_core::serial::{Serial, SerialError};
use meterai_ledger::{PublicSerial, SerialState as RegistryState};
use meterai_stamp::verify::{SerialState, VerifyReport};

use crate::AppState;
use crate::error::ApiError;
use crate::time::iso8601;

/// A serial as the public may see it: parsed and looked up.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// The check character or the format is wrong: altered or mistyped.
    Mistyped(SerialError),
    /// Well-formed, never issued by this registry.
    Unknown(Serial),
    /// Issued here.
    Known(PublicSerial),
}

impl Lookup {
    /// The state name shown everywhere: STAMPED, VOID, RESERVED, UNKNOWN or MISTYPED.
    pub fn state(&self) -> &'static str {
        match self {
            Lookup::Mistyped(_) => "MISTYPED",
            Lookup::Unknown(_) => "UNKNOWN",
            Lookup::Known(p) => match p.state {
                RegistryState::Stamped => "STAMPED",
                RegistryState::Void => "VOID",
                RegistryState::Reserved => "RESERVED",
            },
        }
    }

    /// One sentence on the state, in English (the JSON's `detail`).
    pub fn detail(&self) -> String {
        match self {
            Lookup::Mistyped(SerialError::CheckFailed) => "the check character does not match: the serial was altered or mistyped".into(),
            Lookup::Mistyped(e) => format!("not a serial number: {e}"),
            Lookup::Unknown(_) => "well-formed, but this registry never issued it".into(),
            Lookup::Known(p) => match p.state {
                RegistryState::Stamped => format!(
                    "stamped at {} on a document of type {}",
                    p.stamped_at.map(iso8601).unwrap_or_default(),
                    p.doc_type.map(|t| t.code()).unwrap_or("?")
                ),
                RegistryState::Void => "issued but never used on a document (the stamping failed); it is void".into(),
                RegistryState::Reserved => "held by a stamping in progress".into(),
            },
        }
    }
}

/// Parses and looks a serial up.
pub async fn lookup(state: &AppState, sn: &str) -> Result<Lookup, ApiError> {
    let serial = match Serial::parse(sn) {
        Ok(s) => s,
        Err(e) => return Ok(Lookup::Mistyped(e)),
    };
    Ok(match state.ledger.lookup_serial(&serial).await? {
        Some(p) => Lookup::Known(p),
        None => Lookup::Unknown(serial),
    })
}

/// The registry's public view of a serial as JSON.
pub fn public_json(p: &PublicSerial, lookup: &Lookup) -> serde_json::Value {
    serde_json::json!({
        "serial": p.serial.to_string(),
        "state": lookup.state(),
        "detail": lookup.detail(),
        "stamped_at": p.stamped_at.map(iso8601),
        "doc_type": p.doc_type.map(|t| t.code()),
        "doc_type_name": p.doc_type.map(|t| t.name()),
        "document_sha256": p.doc_sha256.map(|h| crate::blobs::hex(&h)),
    })
}

/// Verifies `input` with the server's trust anchors, each SN checked in the registry. Runs on a
/// blocking thread (signature checks are CPU work); registry lookups hop back to the runtime.
pub async fn verify(state: &AppState, input: Vec<u8>) -> Result<VerifyReport, ApiError> {
    let state2 = state.clone();
    let runtime = tokio::runtime::Handle::current();
    let now_unix = state.clock.now().0.div_euclid(1000);
    let result = tokio::task::spawn_blocking(move || {
        let registry = |sn: &str| -> SerialState {
            match runtime.block_on(lookup(&state2, sn)) {
                Ok(found) => SerialState { state: found.state().into(), detail: found.detail() },
                // The registry did not answer: say so rather than call the SN unknown.
                Err(e) => SerialState { state: "REGISTRY_UNAVAILABLE".into(), detail: format!("the registry did not answer: {e}") },
            }
        };
        meterai_stamp::verify::verify(&input, None, &state2.trust_anchors_der, now_unix, &registry)
    })
    .await
    .map_err(|e| ApiError::internal(format!("verification task: {e}")))?;
    match result {
        Ok(report) => Ok(report),
        Err(e) if e.is_refusal() => Err(ApiError::Refused { code: e.code().to_string(), message: e.to_string() }),
        Err(e) => Err(ApiError::internal(format!("verification: {e}"))),
    }
}
