//! The one error type of this crate: every failure a caller can see, each with a stable code.

/// Why a signing-side operation (key loading, PKI creation, CMS building, PEM parsing) failed.
///
/// Verification never returns this: it reports findings in a [`crate::CmsReport`] instead,
/// because a bad signature in a document is a result, not an error.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SignError {
    /// The PEM text has no block we can use, or a block is not valid PEM/base64.
    #[error("PEM input is invalid: {0}")]
    PemInvalid(String),
    /// The private key could not be parsed (bad DER, wrong structure).
    #[error("private key is invalid: {0}")]
    KeyInvalid(String),
    /// The key parsed but is of a kind or size we do not sign with.
    #[error("private key is unsupported: {0}")]
    KeyUnsupported(String),
    /// The private key does not belong to the certificate's public key.
    #[error("private key does not match the certificate's public key")]
    KeyCertMismatch,
    /// A certificate could not be parsed as X.509 DER.
    #[error("certificate is invalid: {0}")]
    CertificateInvalid(String),
    /// An input exceeded one of the crate's named limits.
    #[error("input exceeds limit {limit}: {detail}")]
    LimitExceeded {
        /// Name of the limit constant that was exceeded.
        limit: &'static str,
        /// What was too big.
        detail: String,
    },
    /// The private-key operation itself failed (HSM down, library error, ...).
    #[error("signing failed: {0}")]
    SigningFailed(String),
    /// DER encoding of a structure we built failed (should not happen with sane inputs).
    #[error("DER encoding failed: {0}")]
    Encoding(String),
    /// Key generation for the development PKI failed.
    #[error("key generation failed: {0}")]
    KeyGeneration(String),
}

impl SignError {
    /// Stable UPPER_SNAKE code for logs, APIs and tests; never changes once published.
    pub fn code(&self) -> &'static str {
        match self {
            SignError::PemInvalid(_) => "PEM_INVALID",
            SignError::KeyInvalid(_) => "KEY_INVALID",
            SignError::KeyUnsupported(_) => "KEY_UNSUPPORTED",
            SignError::KeyCertMismatch => "KEY_CERT_MISMATCH",
            SignError::CertificateInvalid(_) => "CERTIFICATE_INVALID",
            SignError::LimitExceeded { .. } => "LIMIT_EXCEEDED",
            SignError::SigningFailed(_) => "SIGNING_FAILED",
            SignError::Encoding(_) => "ENCODING_FAILED",
            SignError::KeyGeneration(_) => "KEY_GENERATION_FAILED",
        }
    }
}

impl From<der::Error> for SignError {
    fn from(e: der::Error) -> Self {
        SignError::Encoding(e.to_string())
    }
}
