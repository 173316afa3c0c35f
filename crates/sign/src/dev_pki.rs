//! A deterministic development/test PKI: one CA and one signing certificate issued by it.
//!
//! Never for production: the subject says so, and the keys are derived from a caller-known seed.

use crate::algorithm::{oid, sha256};
use crate::error::SignError;
use crate::limits::DEV_VALIDITY_DAYS_MAX;
use crate::pem::to_pem;
use crate::private_key::{PrivateKey, signature_algorithm_identifier};
use der::asn1::{BitString, GeneralizedTime, OctetString, UtcTime};
use der::{Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use std::str::FromStr;
use std::time::Duration;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

/// Subject of the development CA; "NOT FOR PRODUCTION" so nobody mistakes it for a real CA.
pub const DEV_CA_SUBJECT: &str =
    "CN=meterai development CA,O=meterai development CA - NOT FOR PRODUCTION,C=ID";
/// Subject of the development signing certificate.
pub const DEV_SIGNER_SUBJECT: &str =
    "CN=meterai development signer,O=meterai development CA - NOT FOR PRODUCTION,C=ID";

/// First instant UTCTime cannot express (2050-01-01T00:00:00Z); RFC 5280 switches to
/// GeneralizedTime from there.
const UTC_TIME_END_UNIX_SECONDS: i64 = 2_524_608_000;

/// Key types the development PKI can create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// RSA with a 2048-bit modulus (what the benchmark signs with).
    Rsa2048,
    /// RSA with a 3072-bit modulus.
    Rsa3072,
    /// RSA with a 4096-bit modulus (slow to generate: seconds).
    Rsa4096,
    /// ECDSA on P-256 (instant to generate).
    EcdsaP256,
}

/// PEM texts of a development CA and a signing certificate it issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevPki {
    /// The CA certificate: the trust anchor verifiers must be given.
    pub ca_cert_pem: String,
    /// The CA private key (PKCS#8), to issue more test certificates.
    pub ca_key_pem: String,
    /// The signing (leaf) certificate.
    pub signer_cert_pem: String,
    /// The signing private key (PKCS#8).
    pub signer_key_pem: String,
}

/// Creates a development CA and a signing certificate issued by it, both clearly named
/// "NOT FOR PRODUCTION". Deterministic: the same `seed`, `not_before_unix` and `validity_days`
/// give byte-identical output (RSA keys come from a ChaCha20 stream seeded from `seed`).
pub fn generate_dev_pki(
    key_kind: KeyKind,
    seed: [u8; 32],
    not_before_unix: i64,
    validity_days: u32,
) -> Result<DevPki, SignError> {
    if validity_days == 0 || validity_days > DEV_VALIDITY_DAYS_MAX {
        return Err(SignError::LimitExceeded {
            limit: "DEV_VALIDITY_DAYS_MAX",
            detail: format!("validity_days = {validity_days}"),
        });
    }
    let not_after_unix = not_before_unix + i64::from(validity_days) * 86_400;
    let validity: Validity = Validity::new(x509_time(not_before_unix)?, x509_time(not_after_unix)?);

    let (ca_key, ca_pkcs8) = derive_key(key_kind, &derive_seed(b"meterai dev CA key", &seed))?;
    let (signer_key, signer_pkcs8) =
        derive_key(key_kind, &derive_seed(b"meterai dev signer key", &seed))?;

    let ca_name = parse_name(DEV_CA_SUBJECT)?;
    let signer_name = parse_name(DEV_SIGNER_SUBJECT)?;
    let ca_ski = key_identifier(&ca_key);
    let signer_ski = key_identifier(&signer_key);

    let ca_extensions = vec![
        extension(
            oid::EXT_BASIC_CONSTRAINTS,
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: Some(0),
            },
        )?,
        extension(
            oid::EXT_KEY_USAGE,
            true,
            &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
        )?,
        extension(
            oid::EXT_SUBJECT_KEY_ID,
            false,
            &SubjectKeyIdentifier(OctetString::new(ca_ski.clone())?),
        )?,
    ];
    let ca_cert = issue(&Issue {
        serial: serial(&seed, b"meterai dev CA serial")?,
        issuer: &ca_name,
        issuer_key: &ca_key,
        subject: &ca_name,
        subject_spki: ca_key.spki()?,
        validity,
        extensions: ca_extensions,
    })?;

    let signer_extensions = vec![
        extension(
            oid::EXT_BASIC_CONSTRAINTS,
            true,
            &BasicConstraints {
                ca: false,
                path_len_constraint: None,
            },
        )?,
        extension(
            oid::EXT_KEY_USAGE,
            true,
            &KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation),
        )?,
        extension(
            oid::EXT_SUBJECT_KEY_ID,
            false,
            &SubjectKeyIdentifier(OctetString::new(signer_ski)?),
        )?,
        extension(
            oid::EXT_AUTHORITY_KEY_ID,
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(ca_ski)?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )?,
    ];
    let signer_cert = issue(&Issue {
        serial: serial(&seed, b"meterai dev signer serial")?,
        issuer: &ca_name,
        issuer_key: &ca_key,
        subject: &signer_name,
        subject_spki: signer_key.spki()?,
        validity,
        extensions: signer_extensions,
    })?;

    Ok(DevPki {
        ca_cert_pem: to_pem("CERTIFICATE", &ca_cert)?,
        ca_key_pem: to_pem("PRIVATE KEY", &ca_pkcs8)?,
        signer_cert_pem: to_pem("CERTIFICATE", &signer_cert)?,
        signer_key_pem: to_pem("PRIVATE KEY", &signer_pkcs8)?,
    })
}

/// TBSCertificate as RFC 5280 lays it out; x509-cert 0.3 keeps its own fields private, so the
/// dev PKI encodes this mirror (x509-cert parses the result back in tests).
#[derive(Sequence)]
struct TbsCertificate {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    version: u8,
    serial_number: SerialNumber,
    signature: AlgorithmIdentifierOwned,
    issuer: Name,
    validity: Validity,
    subject: Name,
    subject_public_key_info: SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT")]
    extensions: Vec<Extension>,
}

#[derive(Sequence)]
struct CertificateDer {
    tbs_certificate: der::Any,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

/// What one certificate issuance needs.
struct Issue<'a> {
    serial: SerialNumber,
    issuer: &'a Name,
    issuer_key: &'a PrivateKey,
    subject: &'a Name,
    subject_spki: SubjectPublicKeyInfoOwned,
    validity: Validity,
    extensions: Vec<Extension>,
}

/// X.509 v3 `version` field value.
const X509_VERSION_3: u8 = 2;

fn issue(req: &Issue<'_>) -> Result<Vec<u8>, SignError> {
    let signature_algorithm = signature_algorithm_identifier(req.issuer_key.algorithm(), false);
    let tbs = TbsCertificate {
        version: X509_VERSION_3,
        serial_number: req.serial.clone(),
        signature: signature_algorithm.clone(),
        issuer: req.issuer.clone(),
        validity: req.validity,
        subject: req.subject.clone(),
        subject_public_key_info: req.subject_spki.clone(),
        extensions: req.extensions.clone(),
    }
    .to_der()?;
    let signature = req.issuer_key.sign(&tbs)?;
    Ok(CertificateDer {
        tbs_certificate: der::Any::from_der(&tbs)?,
        signature_algorithm,
        signature: BitString::from_bytes(&signature)?,
    }
    .to_der()?)
}

use der::Decode;

fn extension<T: Encode>(
    extn_id: der::asn1::ObjectIdentifier,
    critical: bool,
    value: &T,
) -> Result<Extension, SignError> {
    Ok(Extension {
        extn_id,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

fn parse_name(s: &str) -> Result<Name, SignError> {
    Name::from_str(s).map_err(|e| SignError::Encoding(format!("name {s}: {e}")))
}

fn x509_time(unix: i64) -> Result<Time, SignError> {
    let secs = u64::try_from(unix)
        .map_err(|_| SignError::Encoding(format!("time before 1970: {unix}")))?;
    let duration = Duration::from_secs(secs);
    Ok(if unix < UTC_TIME_END_UNIX_SECONDS {
        Time::UtcTime(UtcTime::from_unix_duration(duration)?)
    } else {
        Time::GeneralTime(GeneralizedTime::from_unix_duration(duration)?)
    })
}

/// RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits.
fn key_identifier(key: &PrivateKey) -> Vec<u8> {
    let bits = key.public_key_bits();
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &bits)
        .as_ref()
        .to_vec()
}

/// A positive 16-byte serial derived from the seed (top bit clear, never a leading zero byte).
fn serial(seed: &[u8; 32], label: &[u8]) -> Result<SerialNumber, SignError> {
    let mut bytes = derive_seed(label, seed)[..16].to_vec();
    bytes[0] = (bytes[0] & 0x3f) | 0x40;
    Ok(SerialNumber::new(&bytes)?)
}

/// Domain-separated sub-seed: SHA-256(label || 0x00 || seed).
fn derive_seed(label: &[u8], seed: &[u8; 32]) -> [u8; 32] {
    let mut input = Vec::with_capacity(label.len() + 33);
    input.extend_from_slice(label);
    input.push(0);
    input.extend_from_slice(seed);
    sha256(&input)
}

/// Makes the key for `kind` deterministically from `seed`; returns it and its PKCS#8 DER.
fn derive_key(kind: KeyKind, seed: &[u8; 32]) -> Result<(PrivateKey, Vec<u8>), SignError> {
    let bits = match kind {
        KeyKind::Rsa2048 => 2048,
        KeyKind::Rsa3072 => 3072,
        KeyKind::Rsa4096 => 4096,
        KeyKind::EcdsaP256 => return derive_p256_key(seed),
    };
    use rand_chacha::rand_core::SeedableRng;
    use rsa::pkcs8::EncodePrivateKey;
    let mut rng = rand_chacha::ChaCha20Rng::from_seed(*seed);
    let key = rsa::PrivateKey::new(&mut rng, bits)
        .map_err(|e| SignError::KeyGeneration(e.to_string()))?;
    let pkcs8 = key
        .to_pkcs8_der()
        .map_err(|e| SignError::KeyGeneration(e.to_string()))?;
    let der = pkcs8.as_bytes().to_vec();
    Ok((PrivateKey::from_pkcs8_der(&der)?, der))
}

/// Hash-to-scalar with a counter until the value is a valid P-256 scalar (0 < d < n); the
/// first try succeeds except with probability about 2^-32.
fn derive_p256_key(seed: &[u8; 32]) -> Result<(PrivateKey, Vec<u8>), SignError> {
    use p256::pkcs8::EncodePrivateKey;
    for counter in 0u8..=255 {
        let mut input = seed.to_vec();
        input.push(counter);
        let candidate = sha256(&input);
        if let Ok(secret) = p256::SecretKey::from_slice(&candidate) {
            let der = secret
                .to_pkcs8_der()
                .map_err(|e| SignError::KeyGeneration(e.to_string()))?
                .as_bytes()
                .to_vec();
            return Ok((PrivateKey::from_pkcs8_der(&der)?, der));
        }
    }
    Err(SignError::KeyGeneration(
        "no valid P-256 scalar from seed".into(),
    ))
}
