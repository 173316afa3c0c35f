//! Zero-copy view of a CMS SignedData as found in the wild (DER or BER).

use crate::algorithm::oid;
use crate::ber::{Malformed, Reader, Tlv, tag};
use crate::certificate::CertView;
use crate::limits::{
    ATTRIBUTES_PER_SIGNER_MAX, CERTIFICATES_PER_INPUT_MAX, DIGEST_ALGORITHMS_PER_CMS_MAX,
};
use der::Decode;
use der::asn1::ObjectIdentifier;
use spki::AlgorithmIdentifierOwned;
use std::borrow::Cow;

/// The parts of a SignedData that verification needs, borrowing from the input.
pub(crate) struct SignedDataView<'a> {
    /// eContentType: id-data for PAdES, id-ct-TSTInfo for timestamps.
    pub econtent_type: ObjectIdentifier,
    /// eContent when encapsulated (adbe.pkcs7.sha1, timestamp tokens); `None` when detached.
    pub econtent: Option<Cow<'a, [u8]>>,
    /// digestAlgorithms of the SignedData (what other verifiers digest the content with).
    pub digest_algorithms: Vec<ObjectIdentifier>,
    /// Certificates embedded in the CMS (unparseable ones are skipped).
    pub certs: Vec<CertView<'a>>,
    /// The first SignerInfo (PDF signatures have exactly one).
    pub signer: SignerInfoView<'a>,
}

/// How the SignerInfo names its certificate.
pub(crate) enum SignerId<'a> {
    /// issuerAndSerialNumber: raw issuer Name DER and serial content octets.
    IssuerSerial { issuer: &'a [u8], serial: &'a [u8] },
    /// subjectKeyIdentifier.
    KeyId(&'a [u8]),
}

/// One attribute: its type and its SET of values.
pub(crate) struct AttributeView<'a> {
    /// attrType.
    pub oid: ObjectIdentifier,
    /// attrValues (the SET element).
    pub values: Tlv<'a>,
}

impl<'a> AttributeView<'a> {
    /// The first value of the attribute.
    pub(crate) fn first_value(&self) -> Result<Tlv<'a>, Malformed> {
        self.values.children().any()
    }
}

/// The parts of a SignerInfo that verification needs.
pub(crate) struct SignerInfoView<'a> {
    /// Which certificate signed.
    pub sid: SignerId<'a>,
    /// digestAlgorithm OID.
    pub digest_oid: ObjectIdentifier,
    /// signedAttrs element as encoded (tag [0]); the signature covers it re-tagged as SET.
    pub signed_attrs_raw: Option<&'a [u8]>,
    /// Parsed signed attributes.
    pub signed_attrs: Vec<AttributeView<'a>>,
    /// signatureAlgorithm.
    pub signature_algorithm: AlgorithmIdentifierOwned,
    /// The signature value.
    pub signature: Cow<'a, [u8]>,
    /// Parsed unsigned attributes (timestamp tokens live here).
    pub unsigned_attrs: Vec<AttributeView<'a>>,
}

impl<'a> SignerInfoView<'a> {
    /// The signed attribute of type `wanted`, if any.
    pub(crate) fn signed_attr(&self, wanted: ObjectIdentifier) -> Option<&AttributeView<'a>> {
        self.signed_attrs.iter().find(|a| a.oid == wanted)
    }
}

/// Parses a ContentInfo(SignedData). Trailing zero bytes are allowed: PDF /Contents strings
/// are zero-padded placeholders.
pub(crate) fn parse_signed_data(input: &[u8]) -> Result<SignedDataView<'_>, Malformed> {
    let mut top = Reader::new(input);
    let content_info = top.expect(tag::SEQUENCE)?;
    if !top.remaining().iter().all(|b| *b == 0) {
        return Err(Malformed);
    }
    let mut ci = content_info.children();
    if ci.expect(tag::OID)?.oid()? != oid::SIGNED_DATA {
        return Err(Malformed);
    }
    let signed_data = ci
        .expect(tag::context(0))?
        .children()
        .expect(tag::SEQUENCE)?;
    let mut sd = signed_data.children();
    // RFC 5652 5.1: CMSVersion of SignedData is 1, 3, 4 or 5; anything else is not CMS.
    if !matches!(sd.expect(tag::INTEGER)?.small_uint()?, 1 | 3 | 4 | 5) {
        return Err(Malformed);
    }
    let mut digest_algorithms = Vec::new();
    let mut declared = sd.expect(tag::SET)?.children();
    while let Some(alg) = declared.next()? {
        if digest_algorithms.len() >= DIGEST_ALGORITHMS_PER_CMS_MAX || alg.tag != tag::SEQUENCE {
            return Err(Malformed);
        }
        digest_algorithms.push(alg.first_oid()?);
    }
    let mut encap = sd.expect(tag::SEQUENCE)?.children();
    let econtent_type = encap.expect(tag::OID)?.oid()?;
    let econtent = match encap.optional(tag::context(0))? {
        Some(wrapper) => Some(wrapper.children().any()?.octets()?),
        None => None,
    };
    let mut certs = Vec::new();
    if let Some(cert_set) = sd.optional(tag::context(0))? {
        let mut reader = cert_set.children();
        let mut count = 0usize;
        while let Some(choice) = reader.next()? {
            count += 1;
            if count > CERTIFICATES_PER_INPUT_MAX {
                return Err(Malformed);
            }
            // Only plain certificates; attribute certificates ([1], [2]) and others are skipped.
            if let Some(cert) = (choice.tag == tag::SEQUENCE)
                .then(|| CertView::parse(choice.raw))
                .flatten()
            {
                certs.push(cert);
            }
        }
    }
    sd.optional(tag::context(1))?;
    let signer_infos = sd.expect(tag::SET)?;
    let signer = parse_signer_info(signer_infos.children().expect(tag::SEQUENCE)?)?;
    Ok(SignedDataView {
        econtent_type,
        econtent,
        digest_algorithms,
        certs,
        signer,
    })
}

fn parse_signer_info(info: Tlv<'_>) -> Result<SignerInfoView<'_>, Malformed> {
    let mut fields = info.children();
    // RFC 5652 5.3: SignerInfo version is 1 (issuerAndSerialNumber) or 3 (subjectKeyIdentifier).
    let version = fields.expect(tag::INTEGER)?.small_uint()?;
    if !matches!(version, 1 | 3) {
        return Err(Malformed);
    }
    let sid_tlv = fields.any()?;
    let sid = match sid_tlv.tag {
        tag::SEQUENCE => {
            let mut parts = sid_tlv.children();
            let issuer = parts.expect(tag::SEQUENCE)?.raw;
            let serial = parts.expect(tag::INTEGER)?.value;
            SignerId::IssuerSerial { issuer, serial }
        }
        t if t == tag::context_primitive(0) => SignerId::KeyId(sid_tlv.value),
        _ => return Err(Malformed),
    };
    let digest_oid = fields
        .expect(tag::SEQUENCE)?
        .children()
        .expect(tag::OID)?
        .oid()?;
    let signed = fields.optional(tag::context(0))?;
    let signed_attrs = match signed {
        Some(tlv) => parse_attributes(tlv)?,
        None => Vec::new(),
    };
    let signature_algorithm = AlgorithmIdentifierOwned::from_der(fields.expect(tag::SEQUENCE)?.raw)
        .map_err(|_| Malformed)?;
    let signature = fields.any()?.octets()?;
    let unsigned_attrs = match fields.optional(tag::context(1))? {
        Some(tlv) => parse_attributes(tlv)?,
        None => Vec::new(),
    };
    Ok(SignerInfoView {
        sid,
        digest_oid,
        signed_attrs_raw: signed.map(|t| t.raw),
        signed_attrs,
        signature_algorithm,
        signature,
        unsigned_attrs,
    })
}

fn parse_attributes(set: Tlv<'_>) -> Result<Vec<AttributeView<'_>>, Malformed> {
    let mut out = Vec::new();
    let mut reader = set.children();
    while let Some(attr) = reader.next()? {
        if out.len() >= ATTRIBUTES_PER_SIGNER_MAX || attr.tag != tag::SEQUENCE {
            return Err(Malformed);
        }
        let mut parts = attr.children();
        let oid = parts.expect(tag::OID)?.oid()?;
        let values = parts.expect(tag::SET)?;
        out.push(AttributeView { oid, values });
    }
    Ok(out)
}

/// Finds the certificate a SignerInfo names among `certs`.
pub(crate) fn find_signer_cert<'c, 'a>(
    sid: &SignerId<'_>,
    certs: &'c [CertView<'a>],
) -> Option<&'c CertView<'a>> {
    certs.iter().find(|cert| match sid {
        SignerId::IssuerSerial { issuer, serial } => {
            let issuer_matches = *issuer == cert.issuer_der.as_slice()
                || x509_cert::name::Name::from_der(issuer)
                    .ok()
                    .and_then(|n| der::Encode::to_der(&n).ok())
                    .is_some_and(|n| n == cert.issuer_der);
            issuer_matches && strip_zeros(serial) == strip_zeros(cert.serial_bytes())
        }
        SignerId::KeyId(id) => cert.subject_key_id().is_some_and(|ski| ski == *id),
    })
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}
