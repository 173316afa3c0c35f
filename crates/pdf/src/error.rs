//! The one error type of this crate. Every variant has a stable `code()` that callers map to
//! user-facing messages and HTTP statuses; the codes never change meaning.

/// Why a PDF could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdfError {
    /// The input has no PDF structure at all (empty, an image, a zip, JSON, ...).
    #[error("not a PDF: {0}")]
    NotPdf(&'static str),
    /// The file ends before the catalog or page tree could be read.
    #[error("truncated PDF: {0}")]
    Truncated(&'static str),
    /// The cross-reference data is broken and could not be rebuilt by scanning.
    #[error("damaged cross-reference table: {0}")]
    DamagedXref(&'static str),
    /// The document needs a user password and none (or only the empty one) was given.
    #[error("encrypted: password required")]
    PasswordRequired,
    /// A password was given but it is neither the user nor the owner password.
    #[error("encrypted: password incorrect")]
    PasswordIncorrect,
    /// Encryption other than the standard security handler (e.g. certificate-based Adobe.PubSec),
    /// or a standard handler revision/cipher this crate does not implement.
    #[error("unsupported encryption: {0}")]
    EncryptionUnsupported(String),
    /// `page(index)` with index >= the number of pages.
    #[error("page {index} out of range (document has {count} pages)")]
    PageOutOfRange {
        /// The 0-based index that was asked for.
        index: u32,
        /// The number of pages found.
        count: u32,
    },
    /// The input is larger than [`crate::limits::FILE_BYTES_MAX`].
    #[error("file too large: {0} bytes")]
    TooLarge(usize),
    /// A structural limit from [`crate::limits`] was exceeded (hostile or absurd input).
    #[error("limit exceeded: {0}")]
    LimitExceeded(&'static str),
    /// A stream uses a filter this crate does not decode (DCT, JBIG2, JPX, CCITT, Crypt, ...).
    #[error("unsupported filter: {0}")]
    UnsupportedFilter(String),
    /// One specific object (or stream data) could not be parsed or decoded.
    #[error("malformed object: {0}")]
    MalformedObject(String),
}

impl PdfError {
    /// Stable UPPER_SNAKE code for this error, suitable for APIs, logs and tests.
    pub fn code(&self) -> &'static str {
        match self {
            PdfError::NotPdf(_) => "NOT_PDF",
            PdfError::Truncated(_) => "TRUNCATED",
            PdfError::DamagedXref(_) => "DAMAGED_XREF",
            PdfError::PasswordRequired => "PASSWORD_REQUIRED",
            PdfError::PasswordIncorrect => "PASSWORD_INCORRECT",
            PdfError::EncryptionUnsupported(_) => "ENCRYPTION_UNSUPPORTED",
            PdfError::PageOutOfRange { .. } => "PAGE_OUT_OF_RANGE",
            PdfError::TooLarge(_) => "TOO_LARGE",
            PdfError::LimitExceeded(_) => "LIMIT_EXCEEDED",
            PdfError::UnsupportedFilter(_) => "UNSUPPORTED_FILTER",
            PdfError::MalformedObject(_) => "MALFORMED_OBJECT",
        }
    }

    pub(crate) fn malformed(what: impl Into<String>) -> Self {
        PdfError::MalformedObject(what.into())
    }
}
