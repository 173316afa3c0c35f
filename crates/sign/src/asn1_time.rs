//! UTCTime / GeneralizedTime -> Unix seconds, tolerant of the fractional seconds that RFC 3161
//! genTime allows (der's strict GeneralizedTime rejects them).

use crate::ber::{Malformed, Tlv, tag};

/// Unix seconds of a UTCTime or GeneralizedTime element ending in `Z`.
pub(crate) fn unix_seconds(tlv: &Tlv<'_>) -> Result<i64, Malformed> {
    let text = std::str::from_utf8(tlv.value).map_err(|_| Malformed)?;
    let (year, rest) = match tlv.tag {
        tag::UTC_TIME => {
            let yy = digits(text.get(0..2).ok_or(Malformed)?)?;
            // RFC 5280 4.1.2.5.1: YY >= 50 means 19YY.
            (
                if yy >= 50 { 1900 + yy } else { 2000 + yy },
                text.get(2..).ok_or(Malformed)?,
            )
        }
        tag::GENERALIZED_TIME => (
            digits(text.get(0..4).ok_or(Malformed)?)?,
            text.get(4..).ok_or(Malformed)?,
        ),
        _ => return Err(Malformed),
    };
    let rest = rest.strip_suffix('Z').ok_or(Malformed)?;
    let month = digits(rest.get(0..2).ok_or(Malformed)?)?;
    let day = digits(rest.get(2..4).ok_or(Malformed)?)?;
    let hour = digits(rest.get(4..6).ok_or(Malformed)?)?;
    let minute = digits(rest.get(6..8).ok_or(Malformed)?)?;
    let second = match rest.get(8..10) {
        Some(s) => digits(s)?,
        None => 0,
    };
    // Anything after the seconds must be a fraction; it is dropped (second precision suffices).
    let fraction = rest.get(10..).unwrap_or_default();
    let fraction_ok = fraction.is_empty()
        || fraction
            .strip_prefix('.')
            .is_some_and(|digits| digits.bytes().all(|b| b.is_ascii_digit()));
    if !fraction_ok {
        return Err(Malformed);
    }
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(Malformed);
    }
    Ok(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

fn digits(s: &str) -> Result<i64, Malformed> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Malformed);
    }
    s.parse().map_err(|_| Malformed)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
