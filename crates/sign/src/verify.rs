//! Verification of the CMS flavours found in PDF signatures: ETSI.CAdES.detached /
//! adbe.pkcs7.detached, adbe.pkcs7.sha1, ETSI.RFC3161 and adbe.x509.rsa_sha1.

use crate::algorithm::{DigestAlgorithm, oid};
use crate::asn1_time::unix_seconds;
use crate::ber::{Malformed, Reader, Tlv, tag};
use crate::certificate::CertView;
use crate::chain::{ChainStatus, build_chain};
use crate::limits::{CERTIFICATES_PER_INPUT_MAX, CMS_BYTES_MAX};
use crate::report::{Check, CmsReport};
use crate::signed_data::{SignedDataView, SignerInfoView, find_signer_cert, parse_signed_data};
use crate::verify_signature::{SignatureCheck, verify_signature};
use der::asn1::ObjectIdentifier;
use spki::AlgorithmIdentifierOwned;

/// What the signature's messageDigest must cover.
#[derive(Clone, Copy)]
enum Content<'c> {
    /// The PDF byte ranges (detached signature).
    Detached(&'c [&'c [u8]]),
    /// The CMS's own eContent (adbe.pkcs7.sha1, timestamp tokens).
    Encapsulated,
}

/// Verifies a detached CMS (ETSI.CAdES.detached or adbe.pkcs7.detached) over `content`, the
/// signed byte ranges in order. `at_unix` is the time certificates must be valid at (the signing
/// time when known). Never panics; every problem is in the report.
pub fn verify_cms_detached(
    cms_der: &[u8],
    content: &[&[u8]],
    trust_anchors_der: &[Vec<u8>],
    at_unix: i64,
) -> CmsReport {
    verify_signed(
        cms_der,
        Content::Detached(content),
        trust_anchors_der,
        at_unix,
        true,
    )
    .0
}

/// Verifies adbe.pkcs7.sha1: the CMS encapsulates SHA-1(content) as its eContent.
pub fn verify_cms_pkcs7_sha1(
    cms_der: &[u8],
    content: &[&[u8]],
    trust_anchors_der: &[Vec<u8>],
    at_unix: i64,
) -> CmsReport {
    let (mut report, econtent) = verify_signed(
        cms_der,
        Content::Encapsulated,
        trust_anchors_der,
        at_unix,
        true,
    );
    if let Some((_, econtent)) = econtent {
        let actual = DigestAlgorithm::Sha1.digest_parts(content);
        // The signature is over the encapsulated digest; integrity needs both links.
        if report.integrity.is_pass() && econtent.as_slice() != actual.as_ref() {
            report.integrity = Check::Fail("DIGEST_MISMATCH");
        }
        report.digest_algorithm = Some(DigestAlgorithm::Sha1);
        report.collect_reasons();
    }
    report
}

/// Verifies an ETSI.RFC3161 document timestamp: a timestamp token whose TSTInfo
/// messageImprint must equal the digest of `content`.
pub fn verify_document_timestamp(
    cms_der: &[u8],
    content: &[&[u8]],
    trust_anchors_der: &[Vec<u8>],
    at_unix: i64,
) -> CmsReport {
    let (mut report, econtent) = verify_signed(
        cms_der,
        Content::Encapsulated,
        trust_anchors_der,
        at_unix,
        false,
    );
    let Some((content_type, econtent)) = econtent else {
        return report;
    };
    match parse_tst_info(content_type, &econtent) {
        Ok(tst) => {
            report.digest_algorithm = tst.digest;
            report.timestamp_time = Some(tst.gen_time);
            let matches = tst
                .digest
                .map(|d| d.digest_parts(content).as_ref() == tst.imprint.as_slice());
            report.integrity = match (report.integrity, matches) {
                (Check::Pass, Some(true)) => Check::Pass,
                (Check::Pass, Some(false)) => Check::Fail("DIGEST_MISMATCH"),
                (Check::Pass, None) => Check::Unknown("UNSUPPORTED_ALGORITHM"),
                (other, _) => other,
            };
            report.timestamp = combine_token_checks(report.integrity, report.signature);
        }
        Err(Malformed) => {
            report.integrity = Check::Fail("MALFORMED_TIMESTAMP");
            report.timestamp = Check::Fail("MALFORMED_TIMESTAMP");
        }
    }
    report.collect_reasons();
    report
}

/// Verifies adbe.x509.rsa_sha1: `sig_der` is a DER OCTET STRING holding a PKCS#1 v1.5
/// signature over the content digest; `certs_der[0]` is the signer certificate.
pub fn verify_x509_rsa_sha1(
    sig_der: &[u8],
    certs_der: &[Vec<u8>],
    content: &[&[u8]],
    trust_anchors_der: &[Vec<u8>],
    at_unix: i64,
) -> CmsReport {
    let signature = match Reader::new(sig_der).any().and_then(|t| t.octets()) {
        Ok(sig) => sig,
        Err(Malformed) => return CmsReport::unreadable("MALFORMED_SIGNATURE"),
    };
    let certs: Vec<CertView<'_>> = certs_der
        .iter()
        .take(CERTIFICATES_PER_INPUT_MAX)
        .filter_map(|d| CertView::parse(d))
        .collect();
    let Some(signer) = certs_der.first().and_then(|d| CertView::parse(d)) else {
        return CmsReport::unreadable("SIGNER_CERT_MISSING");
    };
    let rsa = AlgorithmIdentifierOwned {
        oid: oid::RSA_ENCRYPTION,
        parameters: None,
    };
    let spki = signer.cert.tbs_certificate().subject_public_key_info();
    let mut report = base_report(&signer, &certs, trust_anchors_der, at_unix);
    // The DigestInfo inside the signature names the hash; SHA-1 is the norm, others occur.
    report.signature = Check::Fail("SIGNATURE_INVALID");
    report.integrity = Check::Unknown("SIGNATURE_INVALID");
    for digest in [
        DigestAlgorithm::Sha1,
        DigestAlgorithm::Sha256,
        DigestAlgorithm::Sha384,
        DigestAlgorithm::Sha512,
    ] {
        if verify_signature(spki, &rsa, Some(digest), content, &signature) == SignatureCheck::Valid
        {
            report.digest_algorithm = Some(digest);
            report.signature = Check::Pass;
            report.integrity = Check::Pass;
            break;
        }
    }
    report.collect_reasons();
    report
}

/// Report fields that only depend on the signer certificate and the chain.
fn base_report(
    signer: &CertView<'_>,
    pool: &[CertView<'_>],
    trust_anchors_der: &[Vec<u8>],
    at_unix: i64,
) -> CmsReport {
    let anchors: Vec<CertView<'_>> = trust_anchors_der
        .iter()
        .filter_map(|d| CertView::parse(d))
        .collect();
    CmsReport {
        digest_algorithm: None,
        integrity: Check::Unknown("NOT_CHECKED"),
        signature: Check::Unknown("NOT_CHECKED"),
        chain: build_chain(signer, pool, &anchors, at_unix),
        timestamp: Check::Unknown("NO_TIMESTAMP"),
        signer_subject: Some(signer.subject_display()),
        signer_cert_der: Some(signer.der.to_vec()),
        signing_time_claimed: None,
        timestamp_time: None,
        reason_codes: Vec::new(),
    }
}

/// Core of every CMS verification. Returns the report and, when the CMS parsed, its eContent.
fn verify_signed(
    cms_der: &[u8],
    content: Content<'_>,
    trust_anchors_der: &[Vec<u8>],
    at_unix: i64,
    check_timestamp_tokens: bool,
) -> (CmsReport, Option<(ObjectIdentifier, Vec<u8>)>) {
    if cms_der.len() > CMS_BYTES_MAX {
        return (CmsReport::unreadable("CMS_TOO_LARGE"), None);
    }
    let Ok(view) = parse_signed_data(cms_der) else {
        return (CmsReport::unreadable("MALFORMED_CMS"), None);
    };
    let econtent = view
        .econtent
        .as_ref()
        .map(|c| (view.econtent_type, c.to_vec()));
    let signer_info = &view.signer;
    let signer = find_signer_cert(&signer_info.sid, &view.certs);
    let mut report = match signer {
        Some(cert) => base_report(cert, &view.certs, trust_anchors_der, at_unix),
        None => {
            // Often the certificate sits in the PDF's DSS instead: the signature cannot be
            // checked here, which is INDETERMINATE, not INVALID.
            let mut report = CmsReport::unreadable("SIGNER_CERT_MISSING");
            report.chain = ChainStatus::Untrusted;
            report
        }
    };
    let Some(digest) = DigestAlgorithm::from_oid(&signer_info.digest_oid) else {
        report.integrity = Check::Unknown("UNSUPPORTED_ALGORITHM");
        report.signature = Check::Unknown("UNSUPPORTED_ALGORITHM");
        report.collect_reasons();
        return (report, econtent);
    };
    report.digest_algorithm = Some(digest);
    let encapsulated;
    let content_parts: &[&[u8]] = match content {
        Content::Detached(parts) => parts,
        Content::Encapsulated => match &view.econtent {
            Some(bytes) => {
                encapsulated = [bytes.as_ref()];
                &encapsulated
            }
            None => {
                report.integrity = Check::Fail("CONTENT_MISSING");
                report.collect_reasons();
                return (report, econtent);
            }
        },
    };
    match (signer_info.signed_attrs_raw, signer) {
        (Some(raw), _) => {
            report.integrity = check_message_digest(signer_info, digest, content_parts);
            report.signing_time_claimed = signer_info
                .signed_attr(oid::ATTR_SIGNING_TIME)
                .and_then(|a| a.first_value().ok())
                .and_then(|v| unix_seconds(&v).ok());
            if let Some(cert) = signer {
                // RFC 5652 5.4: the signature covers the attributes re-tagged as SET OF.
                let tail = raw.get(1..).unwrap_or_default();
                report.signature = match verify_signature(
                    cert.cert.tbs_certificate().subject_public_key_info(),
                    &signer_info.signature_algorithm,
                    Some(digest),
                    &[&[tag::SET], tail],
                    &signer_info.signature,
                ) {
                    SignatureCheck::Valid => {
                        match check_content_type(signer_info, view.econtent_type) {
                            Check::Pass => check_signing_certificate(signer_info, cert),
                            failed => failed,
                        }
                    }
                    SignatureCheck::Invalid => Check::Fail("SIGNATURE_INVALID"),
                    SignatureCheck::Unsupported => Check::Unknown("UNSUPPORTED_ALGORITHM"),
                };
            }
        }
        (None, Some(cert)) => {
            // Without signed attributes the signature covers the content digest directly:
            // a failure cannot say whether the content or the signature is at fault.
            let check = verify_signature(
                cert.cert.tbs_certificate().subject_public_key_info(),
                &signer_info.signature_algorithm,
                Some(digest),
                content_parts,
                &signer_info.signature,
            );
            (report.integrity, report.signature) = match check {
                SignatureCheck::Valid => (Check::Pass, Check::Pass),
                SignatureCheck::Invalid => (
                    Check::Unknown("NO_SIGNED_ATTRIBUTES"),
                    Check::Fail("SIGNATURE_INVALID"),
                ),
                SignatureCheck::Unsupported => (
                    Check::Unknown("UNSUPPORTED_ALGORITHM"),
                    Check::Unknown("UNSUPPORTED_ALGORITHM"),
                ),
            };
        }
        (None, None) => {}
    }
    // OpenSSL and NSS (poppler) digest with the algorithms SignedData declares; a SignerInfo
    // digest outside that set is checked by nobody else, so it must not pass here either.
    if !view.digest_algorithms.is_empty()
        && !view.digest_algorithms.contains(&signer_info.digest_oid)
    {
        report.integrity = Check::Fail("DIGEST_MISMATCH");
        report.reason_codes.push("DIGEST_ALGORITHM_UNDECLARED");
    }
    if check_timestamp_tokens {
        check_signature_timestamp(&view, trust_anchors_der, at_unix, &mut report);
    }
    report.collect_reasons();
    (report, econtent)
}

/// messageDigest attribute vs. the digest of the content.
fn check_message_digest(
    info: &SignerInfoView<'_>,
    digest: DigestAlgorithm,
    content: &[&[u8]],
) -> Check {
    let Some(attr) = info.signed_attr(oid::ATTR_MESSAGE_DIGEST) else {
        return Check::Fail("MESSAGE_DIGEST_MISSING");
    };
    let Ok(value) = attr.first_value().and_then(|v| v.octets()) else {
        return Check::Fail("MALFORMED_CMS");
    };
    if digest.digest_parts(content).as_ref() == value.as_ref() {
        Check::Pass
    } else {
        Check::Fail("DIGEST_MISMATCH")
    }
}

/// RFC 5652 11.1: the contentType attribute must equal eContentType (stops a signature over
/// one content type being replayed as another, e.g. a TSTInfo as data).
fn check_content_type(info: &SignerInfoView<'_>, econtent_type: ObjectIdentifier) -> Check {
    let Some(attr) = info.signed_attr(oid::ATTR_CONTENT_TYPE) else {
        return Check::Fail("CONTENT_TYPE_MISSING");
    };
    match attr.first_value().and_then(|v| v.oid()) {
        Ok(found) if found == econtent_type => Check::Pass,
        Ok(_) => Check::Fail("CONTENT_TYPE_MISMATCH"),
        Err(Malformed) => Check::Fail("MALFORMED_CMS"),
    }
}

/// ESS signingCertificate(V2), when present, must name the certificate that verified: it stops
/// a substitution of another certificate with the same key.
fn check_signing_certificate(info: &SignerInfoView<'_>, signer: &CertView<'_>) -> Check {
    let (attr, default_digest) = match (
        info.signed_attr(oid::ATTR_SIGNING_CERTIFICATE_V2),
        info.signed_attr(oid::ATTR_SIGNING_CERTIFICATE),
    ) {
        (Some(v2), _) => (v2, DigestAlgorithm::Sha256),
        (None, Some(v1)) => (v1, DigestAlgorithm::Sha1),
        (None, None) => return Check::Pass,
    };
    let first_cert_id = || -> Result<(DigestAlgorithm, Vec<u8>), Malformed> {
        let certs = attr.first_value()?.children().expect(tag::SEQUENCE)?;
        let mut id = certs.children().expect(tag::SEQUENCE)?.children();
        let mut digest = default_digest;
        if let Some(alg) = id.optional(tag::SEQUENCE)? {
            digest = DigestAlgorithm::from_oid(&alg.first_oid()?).ok_or(Malformed)?;
        }
        Ok((digest, id.expect(tag::OCTET_STRING)?.value.to_vec()))
    };
    match first_cert_id() {
        Ok((digest, hash)) if digest.digest_parts(&[signer.der]).as_ref() == hash.as_slice() => {
            Check::Pass
        }
        Ok(_) => Check::Fail("SIGNING_CERT_MISMATCH"),
        Err(Malformed) => Check::Fail("MALFORMED_CMS"),
    }
}

/// The signature-time-stamp unsigned attribute (RFC 3161 appendix A), if any.
fn check_signature_timestamp(
    view: &SignedDataView<'_>,
    trust_anchors_der: &[Vec<u8>],
    at_unix: i64,
    report: &mut CmsReport,
) {
    let Some(attr) = view
        .signer
        .unsigned_attrs
        .iter()
        .find(|a| a.oid == oid::ATTR_TIMESTAMP_TOKEN)
    else {
        return;
    };
    let Ok(token) = attr.first_value() else {
        report.timestamp = Check::Fail("MALFORMED_TIMESTAMP");
        return;
    };
    let (token_report, econtent) = verify_signed(
        token.raw,
        Content::Encapsulated,
        trust_anchors_der,
        at_unix,
        false,
    );
    let Some(Ok(tst)) = econtent.map(|(content_type, bytes)| parse_tst_info(content_type, &bytes))
    else {
        report.timestamp = Check::Fail("MALFORMED_TIMESTAMP");
        return;
    };
    report.timestamp_time = Some(tst.gen_time);
    let imprint_ok = tst.digest.is_some_and(|d| {
        d.digest_parts(&[&view.signer.signature]).as_ref() == tst.imprint.as_slice()
    });
    report.timestamp = if imprint_ok {
        combine_token_checks(token_report.integrity, token_report.signature)
    } else {
        Check::Fail("TIMESTAMP_IMPRINT_MISMATCH")
    };
}

/// A timestamp token is good when its own integrity and signature are; a failure of either is
/// TIMESTAMP_INVALID, and a check that could not run (e.g. TSA certificate only in the DSS)
/// leaves the timestamp unknown rather than failed.
fn combine_token_checks(integrity: Check, signature: Check) -> Check {
    match (integrity, signature) {
        (Check::Pass, Check::Pass) => Check::Pass,
        (Check::Fail(_), _) | (_, Check::Fail(_)) => Check::Fail("TIMESTAMP_INVALID"),
        (Check::Unknown(code), _) | (_, Check::Unknown(code)) => Check::Unknown(code),
    }
}

/// The TSTInfo fields we use.
struct TstInfo {
    /// Hash algorithm of the imprint (None if unsupported).
    digest: Option<DigestAlgorithm>,
    /// messageImprint.hashedMessage.
    imprint: Vec<u8>,
    /// genTime, Unix seconds.
    gen_time: i64,
}

fn parse_tst_info(content_type: ObjectIdentifier, der: &[u8]) -> Result<TstInfo, Malformed> {
    if content_type != oid::TST_INFO {
        return Err(Malformed);
    }
    let seq = Tlv::parse_exact(der)?;
    if seq.tag != tag::SEQUENCE {
        return Err(Malformed);
    }
    let mut fields = seq.children();
    fields.expect(tag::INTEGER)?;
    fields.expect(tag::OID)?;
    let mut imprint = fields.expect(tag::SEQUENCE)?.children();
    let alg_oid = imprint
        .expect(tag::SEQUENCE)?
        .children()
        .expect(tag::OID)?
        .oid()?;
    let hashed = imprint.expect(tag::OCTET_STRING)?.value.to_vec();
    fields.expect(tag::INTEGER)?;
    let gen_time = unix_seconds(&fields.expect(tag::GENERALIZED_TIME)?)?;
    Ok(TstInfo {
        digest: DigestAlgorithm::from_oid(&alg_oid),
        imprint: hashed,
        gen_time,
    })
}
