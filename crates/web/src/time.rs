//! Times as people and JSON read them.

use meterai_core::Timestamp;

/// `YYYY-MM-DDTHH:MM:SSZ` (UTC) of a ledger timestamp, reusing the engine's calendar so there is
/// one date algorithm in the workspace.
pub fn iso8601(t: Timestamp) -> String {
    let pdf = meterai_stamp::engine::pdf_date(t.0.div_euclid(1000));
    // "D:YYYYMMDDHHmmSS+00'00'": fixed positions for years 0000-9999.
    let digits = |r: std::ops::Range<usize>| pdf.get(r).unwrap_or("00").to_string();
    format!("{}-{}-{}T{}:{}:{}Z", digits(2..6), digits(6..8), digits(8..10), digits(10..12), digits(12..14), digits(14..16))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timestamp_is_written_as_utc_iso8601() {
        assert_eq!(iso8601(Timestamp(1_767_225_600_000)), "2026-01-01T00:00:00Z");
        assert_eq!(iso8601(Timestamp(1_767_225_661_999)), "2026-01-01T00:01:01Z");
    }
}
