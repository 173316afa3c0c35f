//! A parsed certificate that keeps its original bytes (the signature covers them as encoded).

use crate::ber::{Tlv, tag};
use crate::verify_signature::{SignatureCheck, verify_signature};
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;

/// A certificate from a CMS, a PEM bundle or the trust anchors.
pub(crate) struct CertView<'a> {
    /// The certificate exactly as encoded.
    pub der: &'a [u8],
    /// tbsCertificate exactly as encoded: what the issuer signed.
    pub tbs: &'a [u8],
    /// The issuer's signature algorithm.
    pub signature_algorithm: AlgorithmIdentifierOwned,
    /// The issuer's signature bits.
    pub signature: &'a [u8],
    /// Decoded fields (names, validity, key, extensions).
    pub cert: Certificate,
    /// DER of the subject Name, for issuer matching.
    pub subject_der: Vec<u8>,
    /// DER of the issuer Name, for issuer matching.
    pub issuer_der: Vec<u8>,
}

impl<'a> CertView<'a> {
    /// Parses `der`; `None` if it is not a certificate we can read.
    pub(crate) fn parse(der: &'a [u8]) -> Option<Self> {
        let outer = Tlv::parse_exact(der).ok()?;
        let mut parts = outer.children();
        let tbs = parts.expect(tag::SEQUENCE).ok()?.raw;
        let signature_algorithm =
            AlgorithmIdentifierOwned::from_der(parts.expect(tag::SEQUENCE).ok()?.raw).ok()?;
        let bits = parts.expect(tag::BIT_STRING).ok()?.value;
        // First content octet of a BIT STRING is the unused-bit count; signatures use 0.
        let (&unused, signature) = bits.split_first()?;
        if unused != 0 {
            return None;
        }
        let cert = Certificate::from_der(der).ok()?;
        let subject_der = cert.tbs_certificate().subject().to_der().ok()?;
        let issuer_der = cert.tbs_certificate().issuer().to_der().ok()?;
        Some(CertView {
            der,
            tbs,
            signature_algorithm,
            signature,
            cert,
            subject_der,
            issuer_der,
        })
    }

    /// RFC 4514-style subject, e.g. "CN=..,O=..".
    pub(crate) fn subject_display(&self) -> String {
        self.cert.tbs_certificate().subject().to_string()
    }

    /// True if `at_unix` lies within notBefore..=notAfter.
    pub(crate) fn valid_at(&self, at_unix: i64) -> bool {
        let validity = self.cert.tbs_certificate().validity();
        let to_i64 = |t: x509_cert::time::Time| {
            i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
        };
        to_i64(validity.not_before) <= at_unix && at_unix <= to_i64(validity.not_after)
    }

    /// True if basicConstraints says cA, which an issuing certificate must.
    pub(crate) fn is_ca(&self) -> bool {
        matches!(
            self.cert.tbs_certificate().get_extension::<x509_cert::ext::pkix::BasicConstraints>(),
            Ok(Some((_, bc))) if bc.ca
        )
    }

    /// subjectKeyIdentifier bytes, if the extension is present.
    pub(crate) fn subject_key_id(&self) -> Option<Vec<u8>> {
        match self
            .cert
            .tbs_certificate()
            .get_extension::<x509_cert::ext::pkix::SubjectKeyIdentifier>()
        {
            Ok(Some((_, ski))) => Some(ski.0.as_bytes().to_vec()),
            _ => None,
        }
    }

    /// Serial number content octets (two's complement, as encoded).
    pub(crate) fn serial_bytes(&self) -> &[u8] {
        self.cert.tbs_certificate().serial_number().as_bytes()
    }

    /// Same subject and same public key: the same entity, even if re-issued with other bytes.
    pub(crate) fn same_entity(&self, other: &CertView<'_>) -> bool {
        self.subject_der == other.subject_der
            && self.cert.tbs_certificate().subject_public_key_info()
                == other.cert.tbs_certificate().subject_public_key_info()
    }

    /// Checks that `issuer`'s key made this certificate's signature.
    pub(crate) fn verify_issued_by(&self, issuer: &CertView<'_>) -> SignatureCheck {
        verify_signature(
            issuer.cert.tbs_certificate().subject_public_key_info(),
            &self.signature_algorithm,
            None,
            &[self.tbs],
            self.signature,
        )
    }
}
