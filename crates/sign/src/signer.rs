//! The `Signer` abstraction (where the key lives does not matter) and its local-key implementation.

use crate::algorithm::SignatureAlgorithm;
use crate::cms_build::SignerProfile;
use crate::error::SignError;
use crate::pem::parse_pem_certificates;
use crate::private_key::PrivateKey;
use der::Decode;

/// Something that can produce a signature with the private key of a certificate.
/// Signing does not care where the key lives (local file now; PKCS#11 / remote later).
pub trait Signer: Send + Sync {
    /// The algorithm `sign` produces.
    fn algorithm(&self) -> SignatureAlgorithm;
    /// DER of the signer certificate.
    fn certificate_der(&self) -> &[u8];
    /// DER of the intermediates/roots to embed in the CMS (may be empty).
    fn chain_der(&self) -> &[Vec<u8>];
    /// Raw signature over `message`, which the signer hashes with SHA-256 itself.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError>;
    /// Upper bound of `sign()`'s output length, in bytes.
    fn signature_len_max(&self) -> usize;
    /// This signer's certificates parsed and sized once ([`SignerProfile::new`] of this very
    /// signer), if it keeps them; `None` makes every signature parse them again.
    fn profile(&self) -> Option<&SignerProfile> {
        None
    }
}

/// A signer whose private key is held in process memory, loaded from PEM.
pub struct LocalKeySigner {
    /// The private key; never leaves this struct.
    key: PrivateKey,
    /// DER of the certificate whose public key matches `key`.
    certificate_der: Vec<u8>,
    /// DER of the chain certificates embedded next to the signer certificate.
    chain_der: Vec<Vec<u8>>,
    /// `certificate_der` and `chain_der` parsed and sized once; `None` when they do not parse
    /// (every signature then fails with the reason).
    profile: Option<SignerProfile>,
}

impl LocalKeySigner {
    /// Loads a key from PEM (PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY` or SEC1
    /// `EC PRIVATE KEY`; RSA 2048..=4096 or P-256), the first certificate of `cert_pem`, and the
    /// optional chain bundle. Fails with `KEY_CERT_MISMATCH` if the key is not the certificate's.
    pub fn from_pem(
        key_pem: &str,
        cert_pem: &str,
        chain_pem: Option<&str>,
    ) -> Result<Self, SignError> {
        let key = PrivateKey::from_pem(key_pem)?;
        let certificate_der = parse_pem_certificates(cert_pem)?
            .into_iter()
            .next()
            .ok_or_else(|| SignError::PemInvalid("no certificate".into()))?;
        let chain_der = match chain_pem {
            Some(pem) if pem.contains("-----BEGIN") => parse_pem_certificates(pem)?,
            _ => Vec::new(),
        };
        Self::from_parts(key, certificate_der, chain_der)
    }

    pub(crate) fn from_parts(
        key: PrivateKey,
        certificate_der: Vec<u8>,
        chain_der: Vec<Vec<u8>>,
    ) -> Result<Self, SignError> {
        let cert = x509_cert::Certificate::from_der(&certificate_der)
            .map_err(|e| SignError::CertificateInvalid(e.to_string()))?;
        let cert_key = cert
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes();
        if cert_key != key.public_key_bits().as_slice() {
            return Err(SignError::KeyCertMismatch);
        }
        let mut signer = LocalKeySigner {
            key,
            certificate_der,
            chain_der,
            profile: None,
        };
        signer.profile = SignerProfile::new(&signer).ok();
        Ok(signer)
    }
}

impl Signer for LocalKeySigner {
    fn algorithm(&self) -> SignatureAlgorithm {
        self.key.algorithm()
    }
    fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }
    fn chain_der(&self) -> &[Vec<u8>] {
        &self.chain_der
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        self.key.sign(message)
    }
    fn signature_len_max(&self) -> usize {
        self.key.signature_len_max()
    }
    fn profile(&self) -> Option<&SignerProfile> {
        self.profile.as_ref()
    }
}
