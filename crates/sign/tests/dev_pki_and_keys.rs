mod common;

use common::*;
use der::Decode;
use meterai_sign::{
    KeyKind, LocalKeySigner, SignatureAlgorithm, Signer, generate_dev_pki, parse_pem_certificates,
};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};

fn cert(pem: &str) -> Certificate {
    Certificate::from_der(&parse_pem_certificates(pem).unwrap()[0]).unwrap()
}

#[test]
fn the_same_seed_and_time_give_a_byte_identical_pki() {
    let again = generate_dev_pki(KeyKind::EcdsaP256, SEED, NOT_BEFORE_UNIX, VALIDITY_DAYS).unwrap();
    assert_eq!(&again, pki(KeyKind::EcdsaP256));
    let again_rsa =
        generate_dev_pki(KeyKind::Rsa2048, SEED, NOT_BEFORE_UNIX, VALIDITY_DAYS).unwrap();
    assert_eq!(&again_rsa, pki(KeyKind::Rsa2048));
}

#[test]
fn another_seed_gives_other_keys() {
    let other = generate_dev_pki(
        KeyKind::EcdsaP256,
        [9u8; 32],
        NOT_BEFORE_UNIX,
        VALIDITY_DAYS,
    )
    .unwrap();
    assert_ne!(other.signer_key_pem, pki(KeyKind::EcdsaP256).signer_key_pem);
}

#[test]
fn dev_certificates_say_not_for_production_and_carry_the_extensions_pyhanko_wants() {
    for kind in [KeyKind::Rsa2048, KeyKind::EcdsaP256] {
        let pki = pki(kind);
        let ca = cert(&pki.ca_cert_pem);
        let leaf = cert(&pki.signer_cert_pem);
        assert!(
            ca.tbs_certificate()
                .subject()
                .to_string()
                .contains("NOT FOR PRODUCTION")
        );
        assert!(
            leaf.tbs_certificate()
                .subject()
                .to_string()
                .contains("NOT FOR PRODUCTION")
        );
        assert_eq!(
            leaf.tbs_certificate().issuer(),
            ca.tbs_certificate().subject()
        );

        let (critical, bc) = ca
            .tbs_certificate()
            .get_extension::<BasicConstraints>()
            .unwrap()
            .unwrap();
        assert!(critical && bc.ca);
        let (_, ku) = ca
            .tbs_certificate()
            .get_extension::<KeyUsage>()
            .unwrap()
            .unwrap();
        assert!(ku.0.contains(KeyUsages::KeyCertSign) && ku.0.contains(KeyUsages::CRLSign));

        let (_, bc) = leaf
            .tbs_certificate()
            .get_extension::<BasicConstraints>()
            .unwrap()
            .unwrap();
        assert!(!bc.ca);
        let (_, ku) = leaf
            .tbs_certificate()
            .get_extension::<KeyUsage>()
            .unwrap()
            .unwrap();
        assert!(
            ku.0.contains(KeyUsages::DigitalSignature) && ku.0.contains(KeyUsages::NonRepudiation)
        );
        assert!(!ku.0.contains(KeyUsages::KeyCertSign));
        let serial = leaf.tbs_certificate().serial_number().as_bytes();
        assert!(
            serial[0] & 0x80 == 0 && serial[0] != 0,
            "serial must be positive and minimal"
        );
    }
}

#[test]
fn a_dev_signer_loads_from_pkcs8_and_reports_its_algorithm() {
    assert_eq!(
        signer(KeyKind::Rsa2048).algorithm(),
        SignatureAlgorithm::RsaPkcs1Sha256
    );
    assert_eq!(signer(KeyKind::Rsa2048).signature_len_max(), 256);
    assert_eq!(
        signer(KeyKind::EcdsaP256).algorithm(),
        SignatureAlgorithm::EcdsaP256Sha256
    );
    assert_eq!(signer(KeyKind::Rsa2048).chain_der().len(), 1);
}

#[test]
fn pkcs1_and_sec1_keys_load_too() {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    let rsa_pki = pki(KeyKind::Rsa2048);
    let key = rsa::PrivateKey::from_pkcs8_pem(&rsa_pki.signer_key_pem).unwrap();
    let pkcs1 = key.to_pkcs1_pem(Default::default()).unwrap();
    assert!(pkcs1.contains("BEGIN RSA PRIVATE KEY"));
    LocalKeySigner::from_pem(&pkcs1, &rsa_pki.signer_cert_pem, None).unwrap();

    let ec_pki = pki(KeyKind::EcdsaP256);
    let secret = p256::SecretKey::from_pkcs8_pem(&ec_pki.signer_key_pem).unwrap();
    let sec1_der = secret.to_sec1_der().unwrap();
    let sec1 =
        der::pem::encode_string("EC PRIVATE KEY", der::pem::LineEnding::LF, &sec1_der).unwrap();
    assert!(sec1.contains("BEGIN EC PRIVATE KEY"));
    let signer = LocalKeySigner::from_pem(&sec1, &ec_pki.signer_cert_pem, None).unwrap();
    assert!(signer.chain_der().is_empty());
}

#[test]
fn a_key_that_is_not_the_certificates_is_refused_with_key_cert_mismatch() {
    let err = LocalKeySigner::from_pem(
        &pki(KeyKind::Rsa2048).ca_key_pem,
        &pki(KeyKind::Rsa2048).signer_cert_pem,
        None,
    )
    .err()
    .unwrap();
    assert_eq!(err.code(), "KEY_CERT_MISMATCH");
}

#[test]
fn an_rsa_1024_key_is_refused_as_unsupported() {
    use rand_chacha::rand_core::SeedableRng;
    use rsa::pkcs8::EncodePrivateKey;
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([1u8; 32]);
    let small = rsa::PrivateKey::new(&mut rng, 1024).unwrap();
    let pem = small.to_pkcs8_pem(Default::default()).unwrap();
    let err = LocalKeySigner::from_pem(&pem, &pki(KeyKind::Rsa2048).signer_cert_pem, None)
        .err()
        .unwrap();
    assert_eq!(err.code(), "KEY_UNSUPPORTED");
}

#[test]
fn garbage_pem_is_refused_with_a_code() {
    assert_eq!(
        parse_pem_certificates("hello").unwrap_err().code(),
        "PEM_INVALID"
    );
    let broken = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    assert_eq!(
        parse_pem_certificates(broken).unwrap_err().code(),
        "PEM_INVALID"
    );
    let not_x509 = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert_eq!(
        parse_pem_certificates(not_x509).unwrap_err().code(),
        "CERTIFICATE_INVALID"
    );
    assert_eq!(
        LocalKeySigner::from_pem("nope", "nope", None)
            .err()
            .unwrap()
            .code(),
        "PEM_INVALID"
    );
}

#[test]
fn a_zero_validity_is_refused() {
    let err = generate_dev_pki(KeyKind::EcdsaP256, SEED, NOT_BEFORE_UNIX, 0).unwrap_err();
    assert_eq!(err.code(), "LIMIT_EXCEEDED");
}
