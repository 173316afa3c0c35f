//! meterai-sign: the cryptographic half of a PAdES (ETSI.CAdES.detached) e-Meterai signature.
//!
//! It knows nothing of PDF: it builds a detached CMS SignedData over a content digest, verifies
//! CMS signatures found in real-world PDFs, loads keys, and creates a development PKI.
//!
//! Choices made here:
//! - The SignerInfo signatureAlgorithm is `rsaEncryption` for RSA (what Acrobat and OpenSSL
//!   write; every validator accepts it) and `ecdsa-with-SHA256` for P-256.
//! - signedAttrs are exactly contentType, messageDigest and ESS signingCertificateV2; no
//!   signingTime (PAdES carries the time in the signature dictionary's /M).
//! - Signing is deterministic: RSA PKCS#1 v1.5 by construction, ECDSA through RFC 6979.
//! - Verification never returns an error: every finding is a [`Check`] with a stable code in a
//!   [`CmsReport`], because a broken signature in a document is a result to show, not a failure.

mod algorithm;
mod asn1_time;
mod ber;
mod certificate;
mod chain;
mod cms_build;
mod dev_pki;
mod error;
pub mod limits;
mod pem;
mod private_key;
mod report;
mod signed_data;
mod signer;
mod verify;
mod verify_signature;

pub use algorithm::{DigestAlgorithm, SignatureAlgorithm};
pub use chain::ChainStatus;
pub use cms_build::{SignerProfile, cms_len_max, cms_sign_detached, signer_common_name};
pub use dev_pki::{DEV_CA_SUBJECT, DEV_SIGNER_SUBJECT, DevPki, KeyKind, generate_dev_pki};
pub use error::SignError;
pub use pem::parse_pem_certificates;
pub use report::{Check, CmsReport};
pub use signer::{LocalKeySigner, Signer};
pub use verify::{
    verify_cms_detached, verify_cms_pkcs7_sha1, verify_document_timestamp, verify_x509_rsa_sha1,
};

/// The common name of a certificate's subject (for a signature's /Name), if it has one.
pub fn subject_common_name(cert_der: &[u8]) -> Option<String> {
    let view = certificate::CertView::parse(cert_der)?;
    view.subject_display().split(',').find_map(|p| p.trim().strip_prefix("CN=").map(str::to_string))
}
