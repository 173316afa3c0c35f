//! Money: whole rupiah as `i64` (the rupiah has no minor unit in practice).

/// An amount in Indonesian rupiah.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Rupiah(pub i64);

/// The stamp duty for one document (UU 10/2020): Rp 10,000, charged once per document.
pub const STAMP_DUTY: Rupiah = Rupiah(10_000);

impl std::fmt::Display for Rupiah {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rp {}", self.0)
    }
}
