//! Private keys held in process memory: parsing (PKCS#8, PKCS#1, SEC1) and signing.

use crate::algorithm::{SignatureAlgorithm, oid};
use crate::error::SignError;
use crate::limits::{RSA_SIGNING_BITS_MAX, RSA_SIGNING_BITS_MIN};
use crate::pem::pem_blocks;
use aws_lc_rs::signature::{KeyPair as _, RsaKeyPair};
use p256::ecdsa::SigningKey as P256SigningKey;

/// Longest DER ECDSA P-256 signature: SEQUENCE(2+) of two INTEGERs of up to 33 bytes each.
pub(crate) const ECDSA_P256_DER_SIGNATURE_BYTES_MAX: usize = 72;

/// A private key we can sign with. RSA goes through aws-lc-rs (fast, constant-time); P-256 goes
/// through the `p256` crate because aws-lc-rs offers no RFC 6979 deterministic ECDSA.
pub(crate) enum PrivateKey {
    /// RSA 2048..=4096 bits.
    Rsa(RsaKeyPair),
    /// ECDSA P-256.
    EcP256(P256SigningKey),
}

impl PrivateKey {
    /// Reads the first private-key block of `pem` (PKCS#8, PKCS#1 or SEC1).
    pub(crate) fn from_pem(pem: &str) -> Result<Self, SignError> {
        for block in pem_blocks(pem)? {
            match block.label.as_str() {
                "PRIVATE KEY" => return Self::from_pkcs8_der(&block.der),
                "RSA PRIVATE KEY" => return Self::from_rsa(RsaKeyPair::from_der(&block.der)),
                "EC PRIVATE KEY" => return Self::from_sec1_der(&block.der),
                "ENCRYPTED PRIVATE KEY" => {
                    return Err(SignError::KeyUnsupported("encrypted PKCS#8 key".into()));
                }
                _ => continue,
            }
        }
        Err(SignError::PemInvalid("no private key block".into()))
    }

    /// Parses a PKCS#8 PrivateKeyInfo holding an RSA or P-256 key.
    pub(crate) fn from_pkcs8_der(der: &[u8]) -> Result<Self, SignError> {
        let info = p256::pkcs8::PrivateKeyInfoRef::try_from(der)
            .map_err(|e| SignError::KeyInvalid(e.to_string()))?;
        let alg = info.algorithm.oid;
        if alg == oid::RSA_ENCRYPTION {
            return Self::from_rsa(RsaKeyPair::from_pkcs8(der));
        }
        if alg == oid::EC_PUBLIC_KEY {
            let curve = info
                .algorithm
                .parameters_oid()
                .map_err(|e| SignError::KeyInvalid(e.to_string()))?;
            if curve != oid::SECP256R1 {
                return Err(SignError::KeyUnsupported(format!("EC curve {curve}")));
            }
            use p256::pkcs8::DecodePrivateKey;
            let key = P256SigningKey::from_pkcs8_der(der)
                .map_err(|e| SignError::KeyInvalid(e.to_string()))?;
            return Ok(PrivateKey::EcP256(key));
        }
        Err(SignError::KeyUnsupported(format!("key algorithm {alg}")))
    }

    /// Parses a SEC1 ECPrivateKey (`EC PRIVATE KEY`), which must be on P-256.
    pub(crate) fn from_sec1_der(der: &[u8]) -> Result<Self, SignError> {
        let secret = p256::SecretKey::from_sec1_der(der)
            .map_err(|e| SignError::KeyInvalid(format!("SEC1 P-256 key: {e}")))?;
        Ok(PrivateKey::EcP256(P256SigningKey::from(&secret)))
    }

    fn from_rsa(
        parsed: Result<RsaKeyPair, aws_lc_rs::error::KeyRejected>,
    ) -> Result<Self, SignError> {
        let key = parsed.map_err(|e| match e.description_() {
            // aws-lc-rs refuses sizes outside 2048..=8192 before we can look at them.
            size @ ("TooSmall" | "TooLarge") => {
                SignError::KeyUnsupported(format!("RSA key {size}"))
            }
            other => SignError::KeyInvalid(format!("RSA key: {other}")),
        })?;
        let bits = key.public_modulus_len() * 8;
        if !(RSA_SIGNING_BITS_MIN..=RSA_SIGNING_BITS_MAX).contains(&bits) {
            return Err(SignError::KeyUnsupported(format!("RSA-{bits}")));
        }
        Ok(PrivateKey::Rsa(key))
    }

    /// Which algorithm `sign` produces.
    pub(crate) fn algorithm(&self) -> SignatureAlgorithm {
        match self {
            PrivateKey::Rsa(_) => SignatureAlgorithm::RsaPkcs1Sha256,
            PrivateKey::EcP256(_) => SignatureAlgorithm::EcdsaP256Sha256,
        }
    }

    /// Upper bound of `sign`'s output, in bytes (exact for RSA).
    pub(crate) fn signature_len_max(&self) -> usize {
        match self {
            PrivateKey::Rsa(key) => key.public_modulus_len(),
            PrivateKey::EcP256(_) => ECDSA_P256_DER_SIGNATURE_BYTES_MAX,
        }
    }

    /// Signs `message` (hashed here with SHA-256). Deterministic for both key types.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        match self {
            PrivateKey::Rsa(key) => {
                let mut out = vec![0u8; key.public_modulus_len()];
                // PKCS#1 v1.5 padding uses no randomness; the rng argument is only API shape.
                let rng = aws_lc_rs::rand::SystemRandom::new();
                key.sign(
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                    &rng,
                    message,
                    &mut out,
                )
                .map_err(|e| SignError::SigningFailed(e.to_string()))?;
                Ok(out)
            }
            PrivateKey::EcP256(key) => {
                use p256::ecdsa::signature::Signer as _;
                let sig: p256::ecdsa::DerSignature = key
                    .try_sign(message)
                    .map_err(|e| SignError::SigningFailed(e.to_string()))?;
                Ok(sig.as_bytes().to_vec())
            }
        }
    }

    /// The subjectPublicKey BIT STRING contents a certificate for this key carries
    /// (RSAPublicKey DER, or the uncompressed EC point).
    pub(crate) fn public_key_bits(&self) -> Vec<u8> {
        match self {
            PrivateKey::Rsa(key) => key.public_key().as_ref().to_vec(),
            PrivateKey::EcP256(key) => key.verifying_key().to_sec1_point(false).as_bytes().to_vec(),
        }
    }

    /// The SubjectPublicKeyInfo for a certificate on this key.
    pub(crate) fn spki(&self) -> Result<spki::SubjectPublicKeyInfoOwned, SignError> {
        let algorithm = match self {
            PrivateKey::Rsa(_) => spki::AlgorithmIdentifierOwned {
                oid: oid::RSA_ENCRYPTION,
                parameters: Some(der::asn1::Null.into()),
            },
            PrivateKey::EcP256(_) => spki::AlgorithmIdentifierOwned {
                oid: oid::EC_PUBLIC_KEY,
                parameters: Some(der::Any::from(&oid::SECP256R1)),
            },
        };
        Ok(spki::SubjectPublicKeyInfoOwned {
            algorithm,
            subject_public_key: der::asn1::BitString::from_bytes(&self.public_key_bits())?,
        })
    }
}

/// The AlgorithmIdentifier placed in a certificate's or SignerInfo's signatureAlgorithm for
/// signatures made with `alg`. `for_cms` picks `rsaEncryption` (what Acrobat and OpenSSL write
/// in SignerInfo) instead of `sha256WithRSAEncryption` (required in certificates).
pub(crate) fn signature_algorithm_identifier(
    alg: SignatureAlgorithm,
    for_cms: bool,
) -> spki::AlgorithmIdentifierOwned {
    match alg {
        SignatureAlgorithm::RsaPkcs1Sha256 => spki::AlgorithmIdentifierOwned {
            oid: if for_cms {
                oid::RSA_ENCRYPTION
            } else {
                oid::SHA256_WITH_RSA
            },
            parameters: Some(der::asn1::Null.into()),
        },
        // RFC 5758: ecdsa-with-SHA256 has absent parameters.
        SignatureAlgorithm::EcdsaP256Sha256 => spki::AlgorithmIdentifierOwned {
            oid: oid::ECDSA_SHA256,
            parameters: None,
        },
    }
}
