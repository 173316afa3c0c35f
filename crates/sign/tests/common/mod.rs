//! Shared fixtures: one development PKI per key kind, generated once per test binary.
#![allow(dead_code)]

use meterai_sign::{DevPki, KeyKind, LocalKeySigner, generate_dev_pki, parse_pem_certificates};
use std::sync::OnceLock;

/// 2026-01-01T00:00:00Z: start of the test certificates' validity.
pub const NOT_BEFORE_UNIX: i64 = 1_767_225_600;
/// A day later: when the test signatures are "made" and verified.
pub const SIGNING_TIME_UNIX: i64 = NOT_BEFORE_UNIX + 86_400;
/// Validity of the test certificates.
pub const VALIDITY_DAYS: u32 = 365;
/// Seed of the test PKIs.
pub const SEED: [u8; 32] = [7u8; 32];

pub fn pki(kind: KeyKind) -> &'static DevPki {
    static CACHE: [OnceLock<DevPki>; 4] = [
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
    ];
    let slot = match kind {
        KeyKind::Rsa2048 => 0,
        KeyKind::Rsa3072 => 1,
        KeyKind::Rsa4096 => 2,
        KeyKind::EcdsaP256 => 3,
    };
    CACHE[slot].get_or_init(|| {
        generate_dev_pki(kind, SEED, NOT_BEFORE_UNIX, VALIDITY_DAYS).expect("dev PKI generates")
    })
}

pub fn signer(kind: KeyKind) -> LocalKeySigner {
    let pki = pki(kind);
    LocalKeySigner::from_pem(
        &pki.signer_key_pem,
        &pki.signer_cert_pem,
        Some(&pki.ca_cert_pem),
    )
    .expect("dev signer loads")
}

pub fn ca_der(kind: KeyKind) -> Vec<u8> {
    parse_pem_certificates(&pki(kind).ca_cert_pem)
        .expect("CA parses")
        .remove(0)
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

pub fn hex_decode(hex: &[u8]) -> Vec<u8> {
    let digits: Vec<u8> = hex
        .iter()
        .filter(|b| b.is_ascii_hexdigit())
        .map(|b| (*b as char).to_digit(16).expect("hex digit") as u8)
        .collect();
    digits
        .chunks(2)
        .map(|p| (p[0] << 4) | p.get(1).copied().unwrap_or(0))
        .collect()
}
