//! ISO 8601 UTC timestamps from and to Unix milliseconds, without a time crate:
//! the audit trail needs one fixed output format and a small input grammar.

/// Formats Unix milliseconds as `2026-11-25T16:00:00.123Z`.
pub fn format_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Parses a point in time given as Unix seconds (`1764086400`) or ISO 8601
/// (`2026-11-25`, `2026-11-25T16:00:00Z`, `2026-11-25T16:00:00.123+01:00`);
/// returns Unix milliseconds. Date-times need an explicit offset (`Z` or
/// `±HH:MM`): a local time would be ambiguous.
pub fn parse_ms(input: &str) -> Option<i64> {
    let s = input.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<i64>().ok()?.checked_mul(1000);
    }
    let (date, time) = match s.split_once(['T', 't', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let days = parse_date(date)?;
    let mut ms = days.checked_mul(86_400_000)?;
    if let Some(time) = time {
        ms = ms.checked_add(parse_time(time)?)?;
    }
    Some(ms)
}

fn digits(s: &str, len: usize) -> Option<i64> {
    (s.len() == len && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

fn parse_date(s: &str) -> Option<i64> {
    let mut parts = s.split('-');
    let (y, m, d) = (digits(parts.next()?, 4)?, digits(parts.next()?, 2)?, digits(parts.next()?, 2)?);
    if parts.next().is_some() || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// Milliseconds into the UTC day (may be negative or exceed a day after the offset).
fn parse_time(s: &str) -> Option<i64> {
    let (clock, offset_ms) = if let Some(c) = s.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else {
        let at = s.rfind(['+', '-'])?;
        let (c, off) = s.split_at(at);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (oh, om) = off.get(1..)?.split_once(':')?;
        let (oh, om) = (digits(oh, 2)?, digits(om, 2)?);
        if oh > 23 || om > 59 {
            return None;
        }
        (c, sign * (oh * 3600 + om * 60) * 1000)
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((hms, frac)) => (hms, Some(frac)),
        None => (clock, None),
    };
    let mut parts = hms.split(':');
    let (h, mi, se) = (digits(parts.next()?, 2)?, digits(parts.next()?, 2)?, digits(parts.next()?, 2)?);
    if parts.next().is_some() || h > 23 || mi > 59 || se > 59 {
        return None;
    }
    let millis = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
            // Milliseconds: the first three digits, right-padded.
            let mut three: String = f.chars().take(3).collect();
            while three.len() < 3 {
                three.push('0');
            }
            three.parse().ok()?
        }
        Some(_) => return None,
    };
    Some((h * 3600 + mi * 60 + se) * 1000 + millis - offset_ms)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants_with_milliseconds() {
        assert_eq!(format_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_ms(1_795_622_400_123), "2026-11-25T16:00:00.123Z");
        assert_eq!(format_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(format_ms(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn parses_unix_seconds_dates_and_date_times_with_offsets() {
        assert_eq!(parse_ms("1795622400"), Some(1_795_622_400_000));
        assert_eq!(parse_ms("2026-11-25T16:00:00.123Z"), Some(1_795_622_400_123));
        assert_eq!(parse_ms("2026-11-25T16:00:00Z"), Some(1_795_622_400_000));
        assert_eq!(parse_ms("2026-11-25T17:30:00.5+01:30"), Some(1_795_622_400_500));
        assert_eq!(parse_ms("2026-11-25T15:00:00-01:00"), Some(1_795_622_400_000));
        assert_eq!(parse_ms("2026-11-25"), Some(1_795_564_800_000));
    }

    #[test]
    fn rejects_ambiguous_or_invalid_input() {
        for bad in [
            "",
            "yesterday",
            "2026-11-25T16:00:00",
            "2026-13-01",
            "2026-02-29",
            "2026-11-25T24:00:00Z",
            "2026-11-25T16:00Z",
            "-5",
            "99999999999999999999",
            "2026-11-25T16:00:00.Z",
        ] {
            assert_eq!(parse_ms(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn format_and_parse_round_trip() {
        for ms in [0, 1, 999, 86_399_999, 1_795_622_400_123, 4_102_444_800_000, 253_402_300_799_999] {
            assert_eq!(parse_ms(&format_ms(ms)), Some(ms));
        }
    }
}
