//! Why a stamp or a verification was refused, with the stable codes users and tests see.

use meterai_pdf::PdfError;
use meterai_sign::SignError;

use crate::appearance::AppearanceError;
use crate::placement::PlacementError;

/// Everything that can stop a stamp. Every variant but [`StampError::Signing`] and
/// [`StampError::Internal`] is the input's fault and costs the user nothing.
#[derive(Debug, thiserror::Error)]
pub enum StampError {
    /// The PDF could not be read (not a PDF, damaged beyond repair, encrypted, limits...).
    #[error("{0}")]
    Pdf(#[from] PdfError),
    /// The requested page does not exist.
    #[error("page {page} does not exist: the document has {page_count} page(s)")]
    PageOutOfRange { page: u32, page_count: u32 },
    /// The requested box is outside the visible page or of an unusable size.
    #[error("{0}")]
    Placement(#[from] PlacementError),
    /// The mark cannot be drawn at that size or with that URL.
    #[error("{0}")]
    Appearance(#[from] AppearanceError),
    /// The document is certified with DocMDP P=1: no change, not even a signature, is allowed.
    #[error("the document is certified with \"no changes allowed\"; stamping it would invalidate the certification")]
    CertifiedNoChanges,
    /// The `%PDF-` header starts later than any reader looks for it.
    #[error("the %PDF- header starts {offset} bytes into the file; PDF readers look only in the first 1024 bytes")]
    GarbageBeforeHeader { offset: usize },
    /// The page tree holds no page to stamp.
    #[error("the document has no readable page")]
    NoPages,
    /// A free-text field is too long.
    #[error("the {what} is longer than {} bytes", crate::engine::SIGNATURE_TEXT_BYTES_MAX)]
    TextTooLong { what: &'static str },
    /// The signer failed (key unavailable, HSM error). Not the user's fault.
    #[error("signing failed: {0}")]
    Signing(#[from] SignError),
    /// A broken internal expectation (a bug), reported rather than panicking.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl StampError {
    /// The stable code shown as `error[CODE]` by the CLI and in JSON API errors.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Pdf(e) => e.code(),
            Self::PageOutOfRange { .. } => "PAGE_OUT_OF_RANGE",
            Self::Placement(PlacementError::OutsidePage { .. }) => "BOX_OUTSIDE_PAGE",
            Self::Placement(PlacementError::BoxSize { .. }) | Self::Appearance(AppearanceError::BoxSize { .. }) => "BOX_SIZE",
            Self::Appearance(AppearanceError::UrlTooLong) => "VERIFY_URL_TOO_LONG",
            Self::CertifiedNoChanges => "CERTIFIED_NO_CHANGES",
            Self::GarbageBeforeHeader { .. } => "GARBAGE_BEFORE_HEADER",
            Self::NoPages => "NO_PAGES",
            Self::TextTooLong { .. } => "TEXT_TOO_LONG",
            Self::Signing(_) => "SIGNING_FAILED",
            Self::Internal(_) => "INTERNAL",
        }
    }

    /// True when the input (not the platform) is at fault: the CLI exits 2, the API answers 4xx.
    pub fn is_refusal(&self) -> bool {
        !matches!(self, Self::Signing(_) | Self::Internal(_))
    }
}
