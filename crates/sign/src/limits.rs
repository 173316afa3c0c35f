//! Every size, count and depth limit of the crate, in one place, with units in the names.

/// Largest PEM text (keys, certificate bundles) we parse: real bundles are a few KB; this stops
/// an accidental multi-megabyte upload from being base64-decoded.
pub const PEM_BYTES_MAX: usize = 1024 * 1024;

/// Most certificates accepted in one PEM bundle or one CMS `certificates` set: real chains hold
/// 1-5, PAdES-LTA timestamps a few more; beyond this the input is hostile or broken.
pub const CERTIFICATES_PER_INPUT_MAX: usize = 64;

/// Largest CMS / PKCS#7 blob we look at: PDF signature placeholders are rarely above 64 KB; LTV
/// material can reach a few hundred KB.
pub const CMS_BYTES_MAX: usize = 4 * 1024 * 1024;

/// Deepest nesting of BER/DER constructed values we follow: CMS + TSTInfo + certificates need
/// about 12; deeper means a crafted recursion bomb.
pub const DER_NESTING_DEPTH_MAX: usize = 32;

/// Longest certificate path from signer to trust anchor, counted in certificates (signer
/// included): real-world PKIs use 2-4.
pub const CHAIN_LENGTH_CERTS_MAX: usize = 8;

/// Most entries accepted in a SignedData digestAlgorithms set: one per signer in practice.
pub const DIGEST_ALGORITHMS_PER_CMS_MAX: usize = 16;

/// Most signed or unsigned attributes accepted on one SignerInfo: CAdES uses under 10.
pub const ATTRIBUTES_PER_SIGNER_MAX: usize = 64;

/// Smallest RSA modulus we sign with, in bits: below 2048 is not acceptable for new signatures.
pub const RSA_SIGNING_BITS_MIN: usize = 2048;

/// Largest RSA modulus we sign with, in bits: 4096 covers every CA profile; larger keys only
/// cost time.
pub const RSA_SIGNING_BITS_MAX: usize = 4096;

/// Longest validity accepted for a development certificate, in days: enough for a long-lived
/// dev setup, short enough that a leaked dev CA eventually dies.
pub const DEV_VALIDITY_DAYS_MAX: u32 = 3650 * 3;
