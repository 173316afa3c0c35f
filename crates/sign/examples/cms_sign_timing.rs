//! Release-mode timing of cms_sign_detached against the raw RSA-2048 / P-256 signature.
//! Run: `cargo run --release -p meterai-sign --example cms_sign_timing`

use meterai_sign::{KeyKind, LocalKeySigner, Signer, cms_sign_detached, generate_dev_pki};
use std::time::Instant;

/// Iterations per measurement: enough to average out scheduler noise on 2 cores.
const ITERATIONS: u32 = 2000;

fn per_op_micros(mut f: impl FnMut()) -> f64 {
    for _ in 0..50 {
        f();
    }
    let start = Instant::now();
    for _ in 0..ITERATIONS {
        f();
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(ITERATIONS)
}

fn main() -> Result<(), meterai_sign::SignError> {
    for kind in [KeyKind::Rsa2048, KeyKind::EcdsaP256] {
        let pki = generate_dev_pki(kind, [7u8; 32], 1_767_225_600, 365)?;
        let signer = LocalKeySigner::from_pem(
            &pki.signer_key_pem,
            &pki.signer_cert_pem,
            Some(&pki.ca_cert_pem),
        )?;
        let digest = [0x5au8; 32];
        // The signed attributes of our CMS are ~170 bytes; sign a message of that size.
        let message = [0xa5u8; 170];
        let raw = per_op_micros(|| {
            std::hint::black_box(signer.sign(std::hint::black_box(&message)).ok());
        });
        let cms = per_op_micros(|| {
            std::hint::black_box(cms_sign_detached(&signer, std::hint::black_box(&digest)).ok());
        });
        // cms_len_max runs the whole build with a placeholder signature: the pure CMS overhead.
        let build_only = per_op_micros(|| {
            std::hint::black_box(meterai_sign::cms_len_max(&signer));
        });
        println!(
            "{kind:?}: raw signature {raw:.1} us, cms_sign_detached {cms:.1} us, CMS assembly without signing {build_only:.1} us"
        );
    }
    Ok(())
}
