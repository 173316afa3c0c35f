//! PEM text -> labelled DER blocks (keys, certificate bundles).

use crate::error::SignError;
use crate::limits::{CERTIFICATES_PER_INPUT_MAX, PEM_BYTES_MAX};

/// One decoded PEM block.
pub(crate) struct PemBlock {
    /// The type label, e.g. `CERTIFICATE` or `PRIVATE KEY`: it tells which DER structure follows.
    pub label: String,
    /// The decoded DER bytes.
    pub der: Vec<u8>,
}

const BEGIN: &str = "-----BEGIN ";
const END: &str = "-----END ";

/// Splits `text` into its PEM blocks (text between blocks, such as OpenSSL's "Bag Attributes"
/// or "subject=" lines, is ignored).
pub(crate) fn pem_blocks(text: &str) -> Result<Vec<PemBlock>, SignError> {
    if text.len() > PEM_BYTES_MAX {
        return Err(SignError::LimitExceeded {
            limit: "PEM_BYTES_MAX",
            detail: format!("{} bytes", text.len()),
        });
    }
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let from_begin = &rest[start..];
        let end_marker = from_begin
            .find(END)
            .ok_or_else(|| SignError::PemInvalid("BEGIN without END".into()))?;
        let after_end = &from_begin[end_marker + END.len()..];
        let close = after_end
            .find("-----")
            .ok_or_else(|| SignError::PemInvalid("unterminated END line".into()))?;
        let block_len = end_marker + END.len() + close + "-----".len();
        let block = &from_begin[..block_len];
        let (label, der) = der::pem::decode_vec(block.as_bytes())
            .map_err(|e| SignError::PemInvalid(e.to_string()))?;
        blocks.push(PemBlock {
            label: label.to_string(),
            der,
        });
        if blocks.len() > CERTIFICATES_PER_INPUT_MAX {
            return Err(SignError::LimitExceeded {
                limit: "CERTIFICATES_PER_INPUT_MAX",
                detail: "too many PEM blocks".into(),
            });
        }
        rest = &from_begin[block_len..];
    }
    Ok(blocks)
}

/// Parses every `CERTIFICATE` block of a PEM bundle into DER, checking each is X.509.
/// Other block types are skipped; a bundle without any certificate is an error.
pub fn parse_pem_certificates(pem: &str) -> Result<Vec<Vec<u8>>, SignError> {
    let mut certs = Vec::new();
    for block in pem_blocks(pem)? {
        if block.label != "CERTIFICATE" {
            continue;
        }
        <x509_cert::Certificate as der::Decode>::from_der(&block.der)
            .map_err(|e| SignError::CertificateInvalid(e.to_string()))?;
        certs.push(block.der);
    }
    if certs.is_empty() {
        return Err(SignError::PemInvalid("no CERTIFICATE block".into()));
    }
    Ok(certs)
}

/// Encodes DER as PEM text with `\n` line endings.
pub(crate) fn to_pem(label: &'static str, der: &[u8]) -> Result<String, SignError> {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der)
        .map_err(|e| SignError::Encoding(e.to_string()))
}
