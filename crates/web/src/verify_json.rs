//! The JSON shape of a verification report, shared by `meterai verify --json` and
//! `POST /api/v1/verify` so the two never drift apart.

use meterai_stamp::verify::{Changes, SignatureReport, Verdict, VerifyReport};

/// One signature as JSON.
pub fn signature_json(s: &SignatureReport) -> serde_json::Value {
    let changed_objects: Vec<String> = match &s.changes_after {
        Changes::Content { objects } => objects.iter().map(|o| format!("{} {} R", o.num, o.generation)).collect(),
        _ => Vec::new(),
    };
    serde_json::json!({
        "field": s.field,
        "sub_filter": s.sub_filter,
        "verdict": s.verdict.as_str(),
        "reasons": s.reasons,
        "integrity": s.integrity,
        "signature": s.signature,
        "chain": s.chain,
        "byte_range": s.byte_range,
        "covers_whole_document": s.covers_whole_document,
        "signer": s.signer,
        "signing_time": s.signing_time,
        "timestamp_unix": s.timestamp_unix,
        "reason": s.reason,
        "changes_after": s.changes_after.as_str(),
        "changed_objects": changed_objects,
        "serial": s.serial.as_ref().map(|(sn, st)| serde_json::json!({"sn": sn, "state": st.state, "detail": st.detail})),
    })
}

/// The whole report: `file` names the input, `verdict` is the worst signature's (null when
/// there is no signature).
pub fn report_json(file: &str, r: &VerifyReport) -> serde_json::Value {
    serde_json::json!({
        "file": file,
        "verdict": r.worst().map(Verdict::as_str),
        "signatures": r.signatures.iter().map(signature_json).collect::<Vec<_>>(),
    })
}
