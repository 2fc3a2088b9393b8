//! Request timestamps: SigV4's ISO 8601 basic form, the HTTP `Date` fallback, SigV2's extended form.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};

/// `YYYYMMDDTHHMMSSZ`, strictly (chrono alone would accept signs and extra digits).
pub(crate) fn parse_basic(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 16
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 => c == b'T',
            15 => c == b'Z',
            _ => c.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    // Every request carries one of these: read the digits directly rather than through chrono's
    // format-string parser, which dominated the parse in profiles.
    let num = |range: std::ops::Range<usize>| {
        b.get(range)
            .unwrap_or_default()
            .iter()
            .fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'))
    };
    NaiveDate::from_ymd_opt(num(0..4) as i32, num(4..6), num(6..8))?
        .and_hms_opt(num(9..11), num(11..13), num(13..15))
        .map(|n| n.and_utc())
}

/// The `Date` header: botocore writes RFC 2822 (`Mon, 15 Jan 2024 09:30:00 -0000`), the Common
/// Parameters pages document the ISO 8601 basic form; both are accepted.
pub(crate) fn parse_http_date(s: &str) -> Option<DateTime<Utc>> {
    parse_basic(s).or_else(|| {
        DateTime::parse_from_rfc2822(s.trim())
            .ok()
            .map(|d| d.with_timezone(&Utc))
    })
}

pub(crate) fn format_basic(t: DateTime<Utc>) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// SigV2's own form, `YYYY-MM-DDThh:mm:ssZ`, for messages about SigV2 times.
pub(crate) fn format_extended(t: DateTime<Utc>) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// SigV2 `Timestamp`/`Expires`: `YYYY-MM-DDThh:mm:ssZ`; fractional seconds, offsets and a
/// missing zone (read as UTC, as in AWS's own EMR example) are accepted.
pub(crate) fn parse_extended(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|n| n.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_form_is_strict() {
        assert!(parse_basic("20240115T093000Z").is_some());
        assert!(parse_basic("2024011T5093000Z").is_none());
        assert!(parse_basic("+2024115T093000Z").is_none());
        assert!(parse_basic("20241315T093000Z").is_none());
        assert!(parse_basic("20240115T093000").is_none());
        assert!(parse_basic("20240230T093000Z").is_none());
        assert!(parse_basic("20240115T246000Z").is_none());
        assert!(parse_basic("20240115T093060Z").is_none());
    }

    #[test]
    fn basic_form_round_trips() {
        for s in ["20240115T093000Z", "20000229T235959Z", "19991231T000000Z"] {
            assert_eq!(format_basic(parse_basic(s).unwrap()), s);
        }
    }

    #[test]
    fn date_header_forms() {
        let want = parse_basic("20240115T093000Z");
        assert_eq!(parse_http_date("Mon, 15 Jan 2024 09:30:00 -0000"), want);
        assert_eq!(parse_http_date("Mon, 15 Jan 2024 09:30:00 GMT"), want);
        assert_eq!(parse_http_date("20240115T093000Z"), want);
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn extended_forms() {
        let want = parse_basic("20111003T151930Z");
        assert_eq!(parse_extended("2011-10-03T15:19:30"), want);
        assert_eq!(parse_extended("2011-10-03T15:19:30Z"), want);
        assert_eq!(parse_extended("2011-10-03T17:19:30+02:00"), want);
        assert_eq!(parse_extended("2011-10-03"), None);
    }
}
