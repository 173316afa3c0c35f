//! Certificate path building from the signer certificate to a caller-given trust anchor.

use crate::certificate::CertView;
use crate::limits::CHAIN_LENGTH_CERTS_MAX;
use crate::verify_signature::SignatureCheck;

/// Whether the signer certificate chains to a trust anchor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainStatus {
    /// A path to a trust anchor exists and every link verifies and is valid at the check time.
    Trusted {
        /// Subject of the anchor the path ends at (RFC 4514-style).
        anchor_subject: String,
    },
    /// No path to the given anchors (or no anchors given): INDETERMINATE upstream, not INVALID.
    Untrusted,
    /// The path is broken: a stable code says why (CHAIN_SIGNATURE_INVALID, CERT_EXPIRED,
    /// ISSUER_NOT_CA, SIGNER_CERT_MISSING, MALFORMED_CMS, UNSUPPORTED_ALGORITHM).
    Invalid(&'static str),
}

/// Walks issuer links from `signer` through `pool` (certificates embedded in the CMS) to one
/// of `anchors`, checking each signature and each validity period at `at_unix`.
pub(crate) fn build_chain(
    signer: &CertView<'_>,
    pool: &[CertView<'_>],
    anchors: &[CertView<'_>],
    at_unix: i64,
) -> ChainStatus {
    if anchors.is_empty() {
        return ChainStatus::Untrusted;
    }
    let mut current = signer;
    for _ in 0..CHAIN_LENGTH_CERTS_MAX {
        if let Some(anchor) = anchors
            .iter()
            .find(|a| a.der == current.der || a.same_entity(current))
        {
            return ChainStatus::Trusted {
                anchor_subject: anchor.subject_display(),
            };
        }
        if !current.valid_at(at_unix) {
            return ChainStatus::Invalid("CERT_EXPIRED");
        }
        let mut saw_bad_signature = false;
        let mut saw_unsupported = false;
        // Anchors first: a path that ends early is the one a relying party cares about.
        let mut next = None;
        for candidate in anchors.iter().chain(pool.iter()) {
            if candidate.subject_der != current.issuer_der || candidate.der == current.der {
                continue;
            }
            match current.verify_issued_by(candidate) {
                SignatureCheck::Valid => {
                    next = Some(candidate);
                    break;
                }
                SignatureCheck::Invalid => saw_bad_signature = true,
                SignatureCheck::Unsupported => saw_unsupported = true,
            }
        }
        let Some(issuer) = next else {
            if saw_bad_signature {
                return ChainStatus::Invalid("CHAIN_SIGNATURE_INVALID");
            }
            if saw_unsupported {
                return ChainStatus::Invalid("UNSUPPORTED_ALGORITHM");
            }
            return ChainStatus::Untrusted;
        };
        let issuer_is_anchor = anchors.iter().any(|a| std::ptr::eq(a, issuer));
        if issuer_is_anchor {
            return ChainStatus::Trusted {
                anchor_subject: issuer.subject_display(),
            };
        }
        if !issuer.is_ca() {
            return ChainStatus::Invalid("ISSUER_NOT_CA");
        }
        current = issuer;
    }
    ChainStatus::Untrusted
}
