//! Algorithm identifiers: what we sign with, what we can verify, and their OIDs.

use der::asn1::ObjectIdentifier as Oid;

/// The signature algorithms this crate can produce. Both hash with SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (deterministic by construction).
    RsaPkcs1Sha256,
    /// ECDSA over P-256 with SHA-256, nonce from RFC 6979 (deterministic).
    EcdsaP256Sha256,
}

/// Message digest algorithms met in real-world PDF signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    /// SHA-1: legacy (adbe.pkcs7.sha1, old Acrobat signatures); verified, never produced.
    Sha1,
    /// SHA-256: what we produce.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl DigestAlgorithm {
    /// Maps a digest OID (or a `<hash>WithRSAEncryption` / `ecdsa-with-<hash>` OID, which some
    /// old signers put in digestAlgorithm) to the digest.
    pub(crate) fn from_oid(oid: &Oid) -> Option<Self> {
        Some(match *oid {
            o if o == oid::SHA1 || o == oid::SHA1_WITH_RSA => DigestAlgorithm::Sha1,
            o if o == oid::SHA256 || o == oid::SHA256_WITH_RSA || o == oid::ECDSA_SHA256 => {
                DigestAlgorithm::Sha256
            }
            o if o == oid::SHA384 || o == oid::SHA384_WITH_RSA || o == oid::ECDSA_SHA384 => {
                DigestAlgorithm::Sha384
            }
            o if o == oid::SHA512 || o == oid::SHA512_WITH_RSA || o == oid::ECDSA_SHA512 => {
                DigestAlgorithm::Sha512
            }
            _ => return None,
        })
    }

    /// The aws-lc-rs digest implementing this algorithm.
    pub(crate) fn aws(self) -> &'static aws_lc_rs::digest::Algorithm {
        match self {
            DigestAlgorithm::Sha1 => &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
            DigestAlgorithm::Sha256 => &aws_lc_rs::digest::SHA256,
            DigestAlgorithm::Sha384 => &aws_lc_rs::digest::SHA384,
            DigestAlgorithm::Sha512 => &aws_lc_rs::digest::SHA512,
        }
    }

    /// Digest of the concatenation of `parts`, without copying them together.
    pub(crate) fn digest_parts(self, parts: &[&[u8]]) -> aws_lc_rs::digest::Digest {
        let mut ctx = aws_lc_rs::digest::Context::new(self.aws());
        for part in parts {
            ctx.update(part);
        }
        ctx.finish()
    }
}

/// SHA-256 of one byte string.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// OIDs used across the crate. `new_unwrap` runs at compile time, so a typo fails the build.
pub(crate) mod oid {
    use der::asn1::ObjectIdentifier as Oid;

    pub const SHA1: Oid = Oid::new_unwrap("1.3.14.3.2.26");
    pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
    pub const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
    pub const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");

    pub const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
    pub const SHA1_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.5");
    pub const RSASSA_PSS: Oid = Oid::new_unwrap("1.2.840.113549.1.1.10");
    pub const MGF1: Oid = Oid::new_unwrap("1.2.840.113549.1.1.8");
    pub const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
    pub const SHA384_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
    pub const SHA512_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");

    pub const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
    pub const SECP256R1: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
    pub const SECP384R1: Oid = Oid::new_unwrap("1.3.132.0.34");
    pub const ECDSA_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
    pub const ECDSA_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
    pub const ECDSA_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");

    pub const DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.1");
    pub const SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
    pub const TST_INFO: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.1.4");

    pub const ATTR_CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
    pub const ATTR_MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
    pub const ATTR_SIGNING_TIME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.5");
    pub const ATTR_SIGNING_CERTIFICATE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.12");
    pub const ATTR_SIGNING_CERTIFICATE_V2: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.47");
    pub const ATTR_TIMESTAMP_TOKEN: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.14");

    pub const EXT_SUBJECT_KEY_ID: Oid = Oid::new_unwrap("2.5.29.14");
    pub const EXT_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.15");
    pub const EXT_BASIC_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.19");
    pub const EXT_AUTHORITY_KEY_ID: Oid = Oid::new_unwrap("2.5.29.35");
}
