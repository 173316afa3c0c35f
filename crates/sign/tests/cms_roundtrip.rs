mod common;

use common::*;
use meterai_sign::{
    ChainStatus, Check, DigestAlgorithm, KeyKind, LocalKeySigner, Signer, cms_len_max,
    cms_sign_detached, generate_dev_pki, parse_pem_certificates, verify_cms_detached,
};

const CONTENT_HEAD: &[u8] = b"%PDF-1.7 first byte range ";
const CONTENT_TAIL: &[u8] = b" second byte range %%EOF";

fn content_digest() -> [u8; 32] {
    sha256(&[CONTENT_HEAD, CONTENT_TAIL].concat())
}

fn assert_round_trip(kind: KeyKind) {
    let signer = signer(kind);
    let cms = cms_sign_detached(&signer, &content_digest()).unwrap();
    let report = verify_cms_detached(
        &cms,
        &[CONTENT_HEAD, CONTENT_TAIL],
        &[ca_der(kind)],
        SIGNING_TIME_UNIX,
    );
    assert_eq!(report.integrity, Check::Pass, "{kind:?}: {report:?}");
    assert_eq!(report.signature, Check::Pass, "{kind:?}: {report:?}");
    assert!(
        matches!(report.chain, ChainStatus::Trusted { ref anchor_subject } if anchor_subject.contains("NOT FOR PRODUCTION")),
        "{kind:?}: {report:?}"
    );
    assert_eq!(report.digest_algorithm, Some(DigestAlgorithm::Sha256));
    assert!(report.reason_codes.is_empty(), "{:?}", report.reason_codes);
    assert!(report.is_valid());
    assert_eq!(
        report.signer_cert_der.as_deref(),
        Some(signer.certificate_der())
    );
    assert!(
        report
            .signer_subject
            .unwrap()
            .contains("CN=meterai development signer")
    );
    assert_eq!(
        report.signing_time_claimed, None,
        "PAdES puts no signingTime in the CMS"
    );
}

#[test]
fn an_rsa_2048_signature_verifies_and_chains_to_the_dev_ca() {
    assert_round_trip(KeyKind::Rsa2048);
}

#[test]
fn an_rsa_3072_signature_verifies_and_chains_to_the_dev_ca() {
    assert_round_trip(KeyKind::Rsa3072);
}

#[test]
fn an_rsa_4096_signature_verifies_and_chains_to_the_dev_ca() {
    assert_round_trip(KeyKind::Rsa4096);
}

#[test]
fn a_p256_signature_verifies_and_chains_to_the_dev_ca() {
    assert_round_trip(KeyKind::EcdsaP256);
}

#[test]
fn signing_twice_gives_identical_bytes_for_rsa_and_ecdsa() {
    for kind in [KeyKind::Rsa2048, KeyKind::EcdsaP256] {
        let a = cms_sign_detached(&signer(kind), &content_digest()).unwrap();
        let b = cms_sign_detached(&signer(kind), &content_digest()).unwrap();
        assert_eq!(a, b, "{kind:?}");
        let other = cms_sign_detached(&signer(kind), &[1u8; 32]).unwrap();
        assert_ne!(a, other);
    }
}

#[test]
fn cms_len_max_is_an_upper_bound_and_exact_for_rsa() {
    for kind in [KeyKind::Rsa2048, KeyKind::Rsa3072, KeyKind::Rsa4096] {
        let signer = signer(kind);
        let cms = cms_sign_detached(&signer, &content_digest()).unwrap();
        assert_eq!(cms_len_max(&signer), cms.len(), "{kind:?}");
    }
    let signer = signer(KeyKind::EcdsaP256);
    for i in 0..32u8 {
        let cms = cms_sign_detached(&signer, &[i; 32]).unwrap();
        let max = cms_len_max(&signer);
        assert!(
            cms.len() <= max && max - cms.len() <= 8,
            "{} vs {max}",
            cms.len()
        );
    }
}

#[test]
fn the_cms_has_exactly_the_pades_signed_attributes() {
    use cms::content_info::ContentInfo;
    use cms::signed_data::SignedData;
    use der::Decode;
    let signer = signer(KeyKind::Rsa2048);
    let cms = cms_sign_detached(&signer, &content_digest()).unwrap();
    let ci = ContentInfo::from_der(&cms).unwrap();
    let sd: SignedData = ci.content.decode_as().unwrap();
    assert_eq!(sd.version, cms::content_info::CmsVersion::V1);
    assert!(sd.encap_content_info.econtent.is_none(), "detached");
    assert_eq!(sd.certificates.unwrap().0.len(), 2, "signer + CA");
    let si = sd.signer_infos.0.get(0).unwrap();
    let oids: Vec<String> = si
        .signed_attrs
        .as_ref()
        .unwrap()
        .iter()
        .map(|a| a.oid.to_string())
        .collect();
    let mut expected = vec![
        "1.2.840.113549.1.9.3".to_string(),
        "1.2.840.113549.1.9.4".to_string(),
        "1.2.840.113549.1.9.16.2.47".to_string(),
    ];
    let mut got = oids.clone();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    assert_eq!(
        si.signature_algorithm.oid.to_string(),
        "1.2.840.113549.1.1.1",
        "rsaEncryption"
    );
    assert!(si.unsigned_attrs.is_none());
}

#[test]
fn tampered_content_fails_integrity_with_digest_mismatch() {
    let cms = cms_sign_detached(&signer(KeyKind::Rsa2048), &content_digest()).unwrap();
    let report = verify_cms_detached(
        &cms,
        &[CONTENT_HEAD, b"tampered"],
        &[ca_der(KeyKind::Rsa2048)],
        SIGNING_TIME_UNIX,
    );
    assert_eq!(report.integrity, Check::Fail("DIGEST_MISMATCH"));
    assert_eq!(
        report.signature,
        Check::Pass,
        "the attributes themselves are intact"
    );
    assert!(report.reason_codes.contains(&"DIGEST_MISMATCH"));
    assert!(!report.is_valid());
}

#[test]
fn a_tampered_signature_fails_with_signature_invalid() {
    for kind in [KeyKind::Rsa2048, KeyKind::EcdsaP256] {
        let signer = signer(kind);
        let mut cms = cms_sign_detached(&signer, &content_digest()).unwrap();
        // The signature value is the last OCTET STRING: flip a byte near the end.
        let at = cms.len() - 10;
        cms[at] ^= 0x01;
        let report = verify_cms_detached(
            &cms,
            &[CONTENT_HEAD, CONTENT_TAIL],
            &[ca_der(kind)],
            SIGNING_TIME_UNIX,
        );
        assert_eq!(
            report.signature,
            Check::Fail("SIGNATURE_INVALID"),
            "{kind:?}: {report:?}"
        );
        assert_eq!(report.integrity, Check::Pass);
        assert!(report.reason_codes.contains(&"SIGNATURE_INVALID"));
    }
}

#[test]
fn without_trust_anchors_the_chain_is_untrusted_not_invalid() {
    let cms = cms_sign_detached(&signer(KeyKind::EcdsaP256), &content_digest()).unwrap();
    let report = verify_cms_detached(&cms, &[CONTENT_HEAD, CONTENT_TAIL], &[], SIGNING_TIME_UNIX);
    assert_eq!(report.chain, ChainStatus::Untrusted);
    assert_eq!(report.reason_codes, vec!["CERT_UNTRUSTED"]);
    assert!(report.integrity.is_pass() && report.signature.is_pass());
}

#[test]
fn an_unrelated_anchor_leaves_the_chain_untrusted() {
    let cms = cms_sign_detached(&signer(KeyKind::EcdsaP256), &content_digest()).unwrap();
    let other = generate_dev_pki(
        KeyKind::EcdsaP256,
        [42u8; 32],
        NOT_BEFORE_UNIX,
        VALIDITY_DAYS,
    )
    .unwrap();
    let other_ca = parse_pem_certificates(&other.ca_cert_pem).unwrap();
    let report = verify_cms_detached(
        &cms,
        &[CONTENT_HEAD, CONTENT_TAIL],
        &other_ca,
        SIGNING_TIME_UNIX,
    );
    // Same subject name, different key: the signature check on the link fails.
    assert_eq!(
        report.chain,
        ChainStatus::Invalid("CHAIN_SIGNATURE_INVALID")
    );
}

#[test]
fn a_certificate_expired_at_signing_time_makes_the_chain_invalid() {
    let kind = KeyKind::EcdsaP256;
    let cms = cms_sign_detached(&signer(kind), &content_digest()).unwrap();
    let after_expiry = NOT_BEFORE_UNIX + i64::from(VALIDITY_DAYS) * 86_400 + 1;
    let report = verify_cms_detached(
        &cms,
        &[CONTENT_HEAD, CONTENT_TAIL],
        &[ca_der(kind)],
        after_expiry,
    );
    assert_eq!(report.chain, ChainStatus::Invalid("CERT_EXPIRED"));
    assert!(report.reason_codes.contains(&"CERT_EXPIRED"));
    let before_validity = NOT_BEFORE_UNIX - 1;
    let report = verify_cms_detached(
        &cms,
        &[CONTENT_HEAD, CONTENT_TAIL],
        &[ca_der(kind)],
        before_validity,
    );
    assert_eq!(report.chain, ChainStatus::Invalid("CERT_EXPIRED"));
}

#[test]
fn a_signer_without_chain_still_embeds_its_own_certificate() {
    let pki = pki(KeyKind::EcdsaP256);
    let bare = LocalKeySigner::from_pem(&pki.signer_key_pem, &pki.signer_cert_pem, None).unwrap();
    let cms = cms_sign_detached(&bare, &content_digest()).unwrap();
    assert!(
        cms.len()
            < cms_sign_detached(&signer(KeyKind::EcdsaP256), &content_digest())
                .unwrap()
                .len()
    );
    let report = verify_cms_detached(
        &cms,
        &[CONTENT_HEAD, CONTENT_TAIL],
        &[ca_der(KeyKind::EcdsaP256)],
        SIGNING_TIME_UNIX,
    );
    assert!(report.is_valid(), "{report:?}");
}

/// A signer that keeps no `SignerProfile`, as a PKCS#11 or remote signer might: every signature
/// parses its certificates again.
struct WithoutProfile<'a>(&'a LocalKeySigner);

impl Signer for WithoutProfile<'_> {
    fn algorithm(&self) -> meterai_sign::SignatureAlgorithm {
        self.0.algorithm()
    }
    fn certificate_der(&self) -> &[u8] {
        self.0.certificate_der()
    }
    fn chain_der(&self) -> &[Vec<u8>] {
        self.0.chain_der()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, meterai_sign::SignError> {
        self.0.sign(message)
    }
    fn signature_len_max(&self) -> usize {
        self.0.signature_len_max()
    }
}

#[test]
fn a_signer_without_a_profile_signs_sizes_and_names_exactly_like_one_with_it() {
    for kind in [KeyKind::Rsa2048, KeyKind::EcdsaP256] {
        let with = signer(kind);
        assert!(with.profile().is_some(), "{kind:?}: LocalKeySigner keeps a profile");
        let without = WithoutProfile(&with);
        assert_eq!(
            cms_sign_detached(&with, &content_digest()).unwrap(),
            cms_sign_detached(&without, &content_digest()).unwrap(),
            "{kind:?}"
        );
        assert_eq!(cms_len_max(&with), cms_len_max(&without), "{kind:?}");
        let name = meterai_sign::signer_common_name(&with).map(|n| n.into_owned());
        assert!(name.is_some(), "{kind:?}: the dev signer has a common name");
        assert_eq!(name, meterai_sign::signer_common_name(&without).map(|n| n.into_owned()), "{kind:?}");
    }
}

#[test]
fn the_cms_is_canonical_der_holding_the_certificates_once_even_when_the_chain_repeats_the_signer() {
    use der::{Decode, Encode};
    for kind in [KeyKind::Rsa2048, KeyKind::EcdsaP256] {
        let pki = pki(kind);
        // The chain bundle names the signer certificate again, before the CA.
        let chain = format!("{}{}", pki.signer_cert_pem, pki.ca_cert_pem);
        let repeating = LocalKeySigner::from_pem(&pki.signer_key_pem, &pki.signer_cert_pem, Some(&chain)).unwrap();
        let cms = cms_sign_detached(&repeating, &content_digest()).unwrap();
        // DER has one encoding per value: decoding and encoding again must give the same bytes,
        // so every length the assembly wrote is right.
        let decoded = cms::content_info::ContentInfo::from_der(&cms).unwrap();
        assert_eq!(decoded.to_der().unwrap(), cms, "{kind:?}");
        let signed_data: cms::signed_data::SignedData = decoded.content.decode_as().unwrap();
        assert_eq!(signed_data.certificates.map(|c| c.0.len()), Some(2), "{kind:?}: signer and CA, once each");
        assert_eq!(signed_data.signer_infos.0.len(), 1);
        assert_eq!(cms, cms_sign_detached(&signer(kind), &content_digest()).unwrap(), "{kind:?}");
        let report = verify_cms_detached(&cms, &[CONTENT_HEAD, CONTENT_TAIL], &[ca_der(kind)], SIGNING_TIME_UNIX);
        assert!(report.is_valid(), "{kind:?}: {report:?}");
    }
}
