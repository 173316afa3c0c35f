//! Building a detached CMS SignedData (ETSI.CAdES.detached / PAdES baseline B-B).
//!
//! The phases follow pyHanko: prepare signed attributes -> digest them -> signature -> embed.
//! The structure is assembled from `cms` types by hand rather than with the `cms` builder, so
//! the `Signer` trait stays object-safe and the only expensive step is the signature itself.
//! What every signature of a signer shares (its certificates, the SignedData's fields before
//! the signer info) is encoded once, in [`SignerContext`]; a signature encodes its signer info
//! and writes the three enclosing headers.

use crate::algorithm::{oid, sha256};
use crate::error::SignError;
use crate::private_key::signature_algorithm_identifier;
use crate::signer::Signer;
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::CmsVersion;
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode, EncodeValue, Header, Length, Sequence, Tag, TagNumber};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;

/// ESS SigningCertificateV2 (RFC 5035): binds the signer certificate to the signature, which
/// PAdES baseline requires.
#[derive(Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

/// ESSCertIDv2 with hashAlgorithm omitted: its DEFAULT is SHA-256, and DER omits defaults.
#[derive(Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
    issuer_serial: IssuerSerial,
}

/// IssuerSerial (RFC 5035): the certificate's issuer as GeneralNames, plus its serial.
#[derive(Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

/// Everything about the signer that does not depend on the document, built and encoded once.
struct SignerContext {
    /// Which certificate signed: its issuer and serial number.
    sid: SignerIdentifier,
    /// The signed attributes every signature carries unchanged: contentType and the ESS
    /// signingCertificateV2 (the signer certificate's hash, issuer and serial).
    fixed_attributes: [Attribute; 2],
    /// The DER of the SignedData's fields before its signerInfos (version, digestAlgorithms,
    /// encapContentInfo and the certificates), the same for every signature: encoded once,
    /// not re-encoded (with every certificate) at each one.
    signed_data_head: Vec<u8>,
}

impl SignerContext {
    fn new(signer: &dyn Signer) -> Result<Self, SignError> {
        let signer_cert = parse_certificate(signer.certificate_der())?;
        let chain = signer
            .chain_der()
            .iter()
            .map(|der| parse_certificate(der))
            .collect::<Result<Vec<_>, _>>()?;
        let (issuer, serial_number) = {
            let tbs = signer_cert.tbs_certificate();
            (tbs.issuer().clone(), tbs.serial_number().clone())
        };
        let signing_certificate = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                cert_hash: OctetString::new(sha256(signer.certificate_der()).to_vec())?,
                issuer_serial: IssuerSerial {
                    issuer: vec![GeneralName::DirectoryName(issuer.clone())],
                    serial_number: serial_number.clone(),
                },
            }],
        };
        Ok(SignerContext {
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber { issuer, serial_number }),
            fixed_attributes: [
                attribute(oid::ATTR_CONTENT_TYPE, Any::from(&oid::DATA))?,
                attribute(oid::ATTR_SIGNING_CERTIFICATE_V2, Any::from_der(&signing_certificate.to_der()?)?)?,
            ],
            signed_data_head: signed_data_head(&signer_cert, &chain)?,
        })
    }

    /// The length of the CMS this signer's longest signature gives (see [`cms_len_max`]).
    fn len_max(&self, signer: &dyn Signer) -> Result<usize, SignError> {
        let signed_attrs = self.signed_attributes(&[0u8; 32])?;
        let signature = vec![0xffu8; signer.signature_len_max()];
        Ok(self.assemble(signer, signed_attrs, signature)?.len())
    }

    /// signedAttrs exactly: contentType, messageDigest, signingCertificateV2. No signingTime:
    /// PAdES carries the claimed time in the signature dictionary's /M.
    fn signed_attributes(
        &self,
        content_digest: &[u8; 32],
    ) -> Result<SetOfVec<Attribute>, SignError> {
        let [content_type, signing_certificate] = self.fixed_attributes.clone();
        let message_digest = attribute(
            oid::ATTR_MESSAGE_DIGEST,
            Any::from_der(&OctetString::new(content_digest.to_vec())?.to_der()?)?,
        )?;
        Ok(SetOfVec::try_from(vec![content_type, message_digest, signing_certificate])?)
    }

    /// Wraps signed attributes and a signature into the final ContentInfo DER: the signer info
    /// is encoded, the rest of the SignedData is the head encoded once, and the three enclosing
    /// headers (SignedData's SEQUENCE, ContentInfo's [0] and its SEQUENCE) are written around
    /// them.
    fn assemble(
        &self,
        signer: &dyn Signer,
        signed_attrs: SetOfVec<Attribute>,
        signature: Vec<u8>,
    ) -> Result<Vec<u8>, SignError> {
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: self.sid.clone(),
            digest_alg: sha256_identifier(),
            signed_attrs: Some(signed_attrs),
            signature_algorithm: signature_algorithm_identifier(signer.algorithm(), true),
            signature: OctetString::new(signature)?,
            unsigned_attrs: None,
        };
        let signer_infos = SignerInfos(SetOfVec::try_from(vec![signer_info])?).to_der()?;
        let signed_data_len = length(self.signed_data_head.len() + signer_infos.len())?;
        let signed_data_header = Header::new(Tag::Sequence, signed_data_len).to_der()?;
        let content_len = length(signed_data_header.len() + usize::try_from(signed_data_len)?)?;
        let content_header = Header::new(
            Tag::ContextSpecific { constructed: true, number: TagNumber(0) },
            content_len,
        )
        .to_der()?;
        let content_type = oid::SIGNED_DATA.to_der()?;
        let content_info_len = length(content_type.len() + content_header.len() + usize::try_from(content_len)?)?;
        let mut out = Header::new(Tag::Sequence, content_info_len).to_der()?;
        out.reserve(usize::try_from(content_info_len)?);
        for part in [&content_type, &content_header, &signed_data_header, &self.signed_data_head, &signer_infos] {
            out.extend_from_slice(part);
        }
        Ok(out)
    }
}

/// The DER of an empty SET OF, which is how a SignedData without signer infos ends.
const EMPTY_SET: [u8; 2] = [0x31, 0x00];

/// The DER of a SignedData's fields before its signerInfos, holding `signer_cert` and `chain`
/// (each certificate once). Encoded with no signer info, whose empty SET then ends the value:
/// what comes before it is the head every signature shares.
fn signed_data_head(signer_cert: &Certificate, chain: &[Certificate]) -> Result<Vec<u8>, SignError> {
    let mut certificates = SetOfVec::new();
    for cert in std::iter::once(signer_cert).chain(chain) {
        // A chain that repeats the signer certificate must not break SET OF uniqueness.
        let choice = CertificateChoices::Certificate(cert.clone());
        if !certificates.iter().any(|c| *c == choice) {
            certificates.insert(choice)?;
        }
    }
    let without_signers = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![sha256_identifier()])?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: oid::DATA,
            econtent: None,
        },
        certificates: Some(CertificateSet(certificates)),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::new()),
    };
    let mut head = Vec::new();
    without_signers.encode_value(&mut head)?;
    if !head.ends_with(&EMPTY_SET) {
        return Err(SignError::SigningFailed("SignedData did not end with its signer infos".into()));
    }
    head.truncate(head.len() - EMPTY_SET.len());
    Ok(head)
}

/// SHA-256, the one digest algorithm signatures are made with.
fn sha256_identifier() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: oid::SHA256,
        parameters: None,
    }
}

fn length(len: usize) -> Result<Length, SignError> {
    Ok(Length::try_from(len)?)
}

fn parse_certificate(der: &[u8]) -> Result<Certificate, SignError> {
    Certificate::from_der(der).map_err(|e| SignError::CertificateInvalid(e.to_string()))
}

fn attribute(oid: der::asn1::ObjectIdentifier, value: Any) -> Result<Attribute, SignError> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
}

/// Builds a detached CMS SignedData (DER) over `content_digest_sha256`, the SHA-256 of the
/// signed byte ranges. Deterministic: same signer key and inputs give identical bytes.
pub fn cms_sign_detached(
    signer: &dyn Signer,
    content_digest_sha256: &[u8; 32],
) -> Result<Vec<u8>, SignError> {
    let fresh;
    let context = match signer.profile() {
        Some(profile) => &profile.context,
        None => {
            fresh = SignerContext::new(signer)?;
            &fresh
        }
    };
    let signed_attrs = context.signed_attributes(content_digest_sha256)?;
    // The signature covers the DER of the attributes with the SET OF tag (RFC 5652 5.4).
    let to_be_signed = signed_attrs.to_der()?;
    let signature = signer.sign(&to_be_signed)?;
    if signature.len() > signer.signature_len_max() {
        return Err(SignError::SigningFailed(format!(
            "signature of {} bytes exceeds the signer's declared maximum {}",
            signature.len(),
            signer.signature_len_max()
        )));
    }
    context.assemble(signer, signed_attrs, signature)
}

/// Upper bound of `cms_sign_detached`'s output length for this signer, in bytes: exact for RSA
/// (fixed-size signature), within a few bytes for ECDSA. Size the PDF /Contents placeholder
/// with it. If the signer's certificates do not parse, returns a generous estimate instead
/// (signing would then fail anyway).
pub fn cms_len_max(signer: &dyn Signer) -> usize {
    if let Some(profile) = signer.profile() {
        return profile.cms_len_max;
    }
    SignerContext::new(signer).and_then(|context| context.len_max(signer)).unwrap_or_else(|_| {
        /// Headroom for everything but certificates and the signature in the fallback estimate.
        const CMS_OVERHEAD_BYTES_FALLBACK: usize = 4096;
        signer.certificate_der().len()
            + signer.chain_der().iter().map(Vec::len).sum::<usize>()
            + signer.signature_len_max()
            + CMS_OVERHEAD_BYTES_FALLBACK
    })
}

/// What signing needs from a signer's certificates and does not change from one signature to
/// the next: the signer identifier, the fixed signed attributes and the certificates, encoded;
/// its subject's common name (the signature dictionary's /Name) and [`cms_len_max`]. A [`Signer`] that keeps one
/// ([`Signer::profile`]) is parsed and sized once, not at every stamp: done per stamp, that
/// work was about a fifth of the engine's CPU for a P-256 stamp (perf, HTTP benchmark).
pub struct SignerProfile {
    /// The signer identifier, fixed attributes and certificates, ready to sign with.
    context: SignerContext,
    /// The common name of the signer certificate's subject, if it has one.
    common_name: Option<String>,
    /// [`cms_len_max`] of the signer.
    cms_len_max: usize,
}

impl SignerProfile {
    /// Parses and sizes `signer`'s certificates; fails where signing would.
    pub fn new(signer: &dyn Signer) -> Result<SignerProfile, SignError> {
        let context = SignerContext::new(signer)?;
        let cms_len_max = context.len_max(signer)?;
        Ok(SignerProfile {
            context,
            common_name: crate::subject_common_name(signer.certificate_der()),
            cms_len_max,
        })
    }
}

/// The common name of `signer`'s certificate subject (for a signature's /Name), if it has one.
pub fn signer_common_name(signer: &dyn Signer) -> Option<std::borrow::Cow<'_, str>> {
    match signer.profile() {
        Some(profile) => profile.common_name.as_deref().map(std::borrow::Cow::Borrowed),
        None => crate::subject_common_name(signer.certificate_der()).map(std::borrow::Cow::Owned),
    }
}
