//! What verification found, in a shape the PDF layer can map onto VALID / INVALID /
//! INDETERMINATE.

use crate::algorithm::DigestAlgorithm;
use crate::chain::ChainStatus;

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The check passed.
    Pass,
    /// The check ran and failed; the code says why (e.g. DIGEST_MISMATCH).
    Fail(&'static str),
    /// The check could not run; the code says why (e.g. UNSUPPORTED_ALGORITHM, NO_TIMESTAMP).
    Unknown(&'static str),
}

impl Check {
    /// True for `Pass`.
    pub fn is_pass(&self) -> bool {
        matches!(self, Check::Pass)
    }
}

/// Everything verification learnt about one CMS signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmsReport {
    /// Digest algorithm of the signature (None if unrecognised or unparseable).
    pub digest_algorithm: Option<DigestAlgorithm>,
    /// The signed content digest (messageDigest attribute, encapsulated SHA-1, or TSTInfo
    /// imprint) equals the digest of the content given.
    pub integrity: Check,
    /// The signer's signature over signedAttrs (or the content) verifies with its certificate.
    pub signature: Check,
    /// Whether the signer certificate chains to a given trust anchor.
    pub chain: ChainStatus,
    /// The RFC 3161 signature-time-stamp token (or, for a document timestamp, the token
    /// itself): imprint and TSA signature verify. `Unknown("NO_TIMESTAMP")` when absent.
    pub timestamp: Check,
    /// Signer certificate subject, RFC 4514-style ("CN=...,O=...").
    pub signer_subject: Option<String>,
    /// Signer certificate DER, for display and for the caller's own policy checks.
    pub signer_cert_der: Option<Vec<u8>>,
    /// signingTime signed attribute (Unix seconds) — a claim by the signer, not proof.
    pub signing_time_claimed: Option<i64>,
    /// genTime of the verified-or-not timestamp token (Unix seconds); see `timestamp`.
    pub timestamp_time: Option<i64>,
    /// Stable codes explaining every non-pass, in the order found, without duplicates.
    pub reason_codes: Vec<&'static str>,
}

impl CmsReport {
    /// A report for input that could not be read at all.
    pub(crate) fn unreadable(code: &'static str) -> Self {
        CmsReport {
            digest_algorithm: None,
            integrity: Check::Unknown(code),
            signature: Check::Unknown(code),
            chain: ChainStatus::Invalid(code),
            timestamp: Check::Unknown("NO_TIMESTAMP"),
            signer_subject: None,
            signer_cert_der: None,
            signing_time_claimed: None,
            timestamp_time: None,
            reason_codes: vec![code],
        }
    }

    /// Integrity and signature pass and the chain reaches an anchor.
    pub fn is_valid(&self) -> bool {
        self.integrity.is_pass()
            && self.signature.is_pass()
            && matches!(self.chain, ChainStatus::Trusted { .. })
    }

    /// Recomputes `reason_codes` from the checks (called once the report is complete).
    pub(crate) fn collect_reasons(&mut self) {
        let mut codes = std::mem::take(&mut self.reason_codes);
        let mut push = |code: &'static str| {
            if !codes.contains(&code) {
                codes.push(code);
            }
        };
        for check in [self.integrity, self.signature] {
            if let Check::Fail(code) | Check::Unknown(code) = check {
                push(code);
            }
        }
        match self.chain {
            ChainStatus::Trusted { .. } => {}
            ChainStatus::Untrusted => push("CERT_UNTRUSTED"),
            ChainStatus::Invalid(code) => push(code),
        }
        if let Check::Fail(code) = self.timestamp {
            push(code);
        }
        self.reason_codes = codes;
    }
}
