//! One signature check: public key + algorithm identifier + message -> valid / invalid /
//! unsupported. Covers RSA PKCS#1 v1.5 (SHA-1/256/384/512), RSA-PSS (SHA-256/384/512, salt =
//! hash length) and ECDSA on P-256 / P-384.

use crate::algorithm::{DigestAlgorithm, oid};
use crate::ber::{Tlv, tag};
use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

/// Outcome of one signature check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignatureCheck {
    /// The signature verifies.
    Valid,
    /// The signature does not verify with this key.
    Invalid,
    /// Algorithm, key type or parameters we cannot check.
    Unsupported,
}

/// Verifies `signature` over the concatenation of `message` with `spki`'s key.
/// `digest_hint` names the hash when the algorithm identifier does not (plain `rsaEncryption`
/// or `id-ecPublicKey` in a SignerInfo, where the digestAlgorithm field says it).
pub(crate) fn verify_signature(
    spki: &SubjectPublicKeyInfoOwned,
    signature_algorithm: &AlgorithmIdentifierOwned,
    digest_hint: Option<DigestAlgorithm>,
    message: &[&[u8]],
    signature: &[u8],
) -> SignatureCheck {
    let Some((digest, algorithm)) = pick_algorithm(spki, signature_algorithm, digest_hint) else {
        return SignatureCheck::Unsupported;
    };
    let key_bits = spki.subject_public_key.raw_bytes();
    let hashed = digest.digest_parts(message);
    match UnparsedPublicKey::new(algorithm, key_bits).verify_digest(&hashed, signature) {
        Ok(()) => SignatureCheck::Valid,
        Err(_) => SignatureCheck::Invalid,
    }
}

enum KeyType {
    Rsa,
    EcP256,
    EcP384,
}

fn key_type(spki: &SubjectPublicKeyInfoOwned) -> Option<KeyType> {
    let alg = &spki.algorithm;
    if alg.oid == oid::RSA_ENCRYPTION || alg.oid == oid::RSASSA_PSS {
        return Some(KeyType::Rsa);
    }
    if alg.oid == oid::EC_PUBLIC_KEY {
        let curve = alg
            .parameters
            .as_ref()?
            .decode_as::<der::asn1::ObjectIdentifier>()
            .ok()?;
        if curve == oid::SECP256R1 {
            return Some(KeyType::EcP256);
        }
        if curve == oid::SECP384R1 {
            return Some(KeyType::EcP384);
        }
    }
    None
}

fn pick_algorithm(
    spki: &SubjectPublicKeyInfoOwned,
    signature_algorithm: &AlgorithmIdentifierOwned,
    digest_hint: Option<DigestAlgorithm>,
) -> Option<(DigestAlgorithm, &'static dyn VerificationAlgorithm)> {
    let key = key_type(spki)?;
    let sig_oid = signature_algorithm.oid;
    match key {
        KeyType::Rsa => {
            if sig_oid == oid::RSASSA_PSS {
                let digest = pss_digest(signature_algorithm)?;
                return Some((digest, rsa_pss(digest)?));
            }
            let digest = if sig_oid == oid::RSA_ENCRYPTION {
                digest_hint?
            } else {
                DigestAlgorithm::from_oid(&sig_oid).filter(|_| {
                    sig_oid != oid::ECDSA_SHA256
                        && sig_oid != oid::ECDSA_SHA384
                        && sig_oid != oid::ECDSA_SHA512
                })?
            };
            Some((digest, rsa_pkcs1(digest)))
        }
        KeyType::EcP256 | KeyType::EcP384 => {
            let digest = if sig_oid == oid::EC_PUBLIC_KEY {
                digest_hint?
            } else if sig_oid == oid::ECDSA_SHA256
                || sig_oid == oid::ECDSA_SHA384
                || sig_oid == oid::ECDSA_SHA512
            {
                DigestAlgorithm::from_oid(&sig_oid)?
            } else {
                return None;
            };
            let p256 = matches!(key, KeyType::EcP256);
            let alg: &'static dyn VerificationAlgorithm = match (p256, digest) {
                (true, DigestAlgorithm::Sha1) => &sig::ECDSA_P256_SHA1_ASN1,
                (true, DigestAlgorithm::Sha256) => &sig::ECDSA_P256_SHA256_ASN1,
                (true, DigestAlgorithm::Sha384) => &sig::ECDSA_P256_SHA384_ASN1,
                (true, DigestAlgorithm::Sha512) => &sig::ECDSA_P256_SHA512_ASN1,
                (false, DigestAlgorithm::Sha256) => &sig::ECDSA_P384_SHA256_ASN1,
                (false, DigestAlgorithm::Sha384) => &sig::ECDSA_P384_SHA384_ASN1,
                (false, DigestAlgorithm::Sha512) => &sig::ECDSA_P384_SHA512_ASN1,
                (false, DigestAlgorithm::Sha1) => return None,
            };
            Some((digest, alg))
        }
    }
}

/// PKCS#1 v1.5 parameters; 1024-bit keys are accepted for verification of old signatures.
fn rsa_pkcs1(digest: DigestAlgorithm) -> &'static dyn VerificationAlgorithm {
    match digest {
        DigestAlgorithm::Sha1 => &sig::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
        DigestAlgorithm::Sha256 => &sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        DigestAlgorithm::Sha384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        DigestAlgorithm::Sha512 => &sig::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
    }
}

fn rsa_pss(digest: DigestAlgorithm) -> Option<&'static dyn VerificationAlgorithm> {
    Some(match digest {
        DigestAlgorithm::Sha256 => &sig::RSA_PSS_2048_8192_SHA256,
        DigestAlgorithm::Sha384 => &sig::RSA_PSS_2048_8192_SHA384,
        DigestAlgorithm::Sha512 => &sig::RSA_PSS_2048_8192_SHA512,
        DigestAlgorithm::Sha1 => return None,
    })
}

/// RSASSA-PSS-params (RFC 4055): we support hash = MGF1 hash, salt = hash length, which is what
/// every PSS signer in practice emits. SHA-1 defaults are not supported.
fn pss_digest(alg: &AlgorithmIdentifierOwned) -> Option<DigestAlgorithm> {
    let params = alg.parameters.as_ref()?.to_der_vec()?;
    let seq = Tlv::parse_exact(&params).ok()?;
    if seq.tag != tag::SEQUENCE {
        return None;
    }
    let mut fields = seq.children();
    let hash_field = fields.optional(tag::context(0)).ok()??;
    let hash_oid = hash_field
        .children()
        .expect(tag::SEQUENCE)
        .ok()?
        .first_oid()
        .ok()?;
    let digest = DigestAlgorithm::from_oid(&hash_oid)?;
    if let Some(mgf) = fields.optional(tag::context(1)).ok()? {
        // MaskGenAlgorithm ::= SEQUENCE { mgf1 OID, AlgorithmIdentifier{hash} }
        let mut mgf_fields = mgf.children().expect(tag::SEQUENCE).ok()?.children();
        if mgf_fields.expect(tag::OID).ok()?.oid().ok()? != oid::MGF1 {
            return None;
        }
        let mgf_hash = mgf_fields.expect(tag::SEQUENCE).ok()?.first_oid().ok()?;
        if DigestAlgorithm::from_oid(&mgf_hash)? != digest {
            return None;
        }
    } else if digest != DigestAlgorithm::Sha1 {
        return None;
    }
    let salt_len = match fields.optional(tag::context(2)).ok()? {
        Some(salt) => salt
            .children()
            .expect(tag::INTEGER)
            .ok()?
            .small_uint()
            .ok()?,
        None => 20,
    };
    if usize::try_from(salt_len).ok()? != digest.aws().output_len() {
        return None;
    }
    Some(digest)
}

/// DER of an `Any` (its parameters), for re-walking with the BER reader.
trait ToDerVec {
    fn to_der_vec(&self) -> Option<Vec<u8>>;
}

impl ToDerVec for der::Any {
    fn to_der_vec(&self) -> Option<Vec<u8>> {
        der::Encode::to_der(self).ok()
    }
}
