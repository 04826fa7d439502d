//! Timestamps in and out: the xs:dateTime values SAML metadata carries (`validUntil`), and the
//! one fixed shape samlfed writes them in — in CloudFormation `Data`, Reasons, log lines and the
//! CLI's output.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// RFC 3339 with seconds and `Z`, e.g. 2026-06-22T18:39:53Z — used in CloudFormation Data and Reasons.
///
/// One fixed shape (UTC, no fraction) keeps `Data` values stable across updates and easy to
/// compare in templates and alarms.
pub fn format_timestamp(t: OffsetDateTime) -> String {
    match t.checked_to_offset(UtcOffset::UTC) {
        Some(utc) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            utc.year(),
            u8::from(utc.month()),
            utc.day(),
            utc.hour(),
            utc.minute(),
            utc.second()
        ),
        // Only at the very edge of the representable range; keep the offset rather than panic.
        None => {
            let (oh, om, _) = t.offset().as_hms();
            let sign = if t.offset().is_negative() { '-' } else { '+' };
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                oh.unsigned_abs(),
                om.unsigned_abs()
            )
        }
    }
}

/// Parses an xs:dateTime (`2026-06-22T18:39:53.000Z`, `...+02:00`, or no zone, which SAML defines
/// as UTC). Years beyond 4 digits, negative years and leap seconds are refused rather than guessed.
pub(crate) fn parse_xs_date_time(value: &str) -> Option<OffsetDateTime> {
    let s = value.trim().as_bytes();
    let number = |from: usize, to: usize| -> Option<u32> {
        let digits = s.get(from..to)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(digits.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0')))
    };
    let separators_ok = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')]
        .iter()
        .all(|&(at, expected)| s.get(at) == Some(&expected));
    if !separators_ok {
        return None;
    }
    let year = i32::try_from(number(0, 4)?).ok()?;
    let month = Month::try_from(u8::try_from(number(5, 7)?).ok()?).ok()?;
    let day = u8::try_from(number(8, 10)?).ok()?;
    let hour = u8::try_from(number(11, 13)?).ok()?;
    let minute = u8::try_from(number(14, 16)?).ok()?;
    let second = u8::try_from(number(17, 19)?).ok()?;

    let mut at = 19;
    let mut nanosecond = 0u32;
    if s.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while s.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        let fraction = s.get(start..at)?;
        if fraction.is_empty() {
            return None;
        }
        // Keep nanosecond precision; further digits cannot change a comparison that matters.
        for position in 0..9 {
            let digit = fraction.get(position).map_or(0, |d| u32::from(d - b'0'));
            nanosecond = nanosecond * 10 + digit;
        }
    }
    let offset = match s.get(at..)? {
        b"" | b"Z" => UtcOffset::UTC,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let hours = i8::try_from(number(at + 1, at + 3)?).ok()?;
            let minutes = i8::try_from(number(at + 4, at + 6)?).ok()?;
            if hours > 14 || minutes > 59 {
                return None;
            }
            let (hours, minutes) = if *sign == b'-' { (-hours, -minutes) } else { (hours, minutes) };
            UtcOffset::from_hms(hours, minutes, 0).ok()?
        }
        _ => return None,
    };

    let date = Date::from_calendar_date(year, month, day).ok()?;
    // xs:dateTime allows 24:00:00 for the first instant of the next day.
    let (date, time) = if hour == 24 && minute == 0 && second == 0 && nanosecond == 0 {
        (date.next_day()?, Time::MIDNIGHT)
    } else {
        (date, Time::from_hms_nano(hour, minute, second, nanosecond).ok()?)
    };
    PrimitiveDateTime::new(date, time).assume_offset(offset).checked_to_offset(UtcOffset::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(value: &str) -> OffsetDateTime {
        parse_xs_date_time(value).expect("test timestamp")
    }

    #[test]
    fn xs_date_time_forms_are_parsed() {
        let utc = |s| parse_xs_date_time(s).map(format_timestamp);
        assert_eq!(utc("2030-01-01T00:00:00.999Z").as_deref(), Some("2030-01-01T00:00:00Z"));
        assert_eq!(utc("2030-01-01T02:30:00+02:30").as_deref(), Some("2030-01-01T00:00:00Z"));
        assert_eq!(utc("2029-12-31T19:00:00-05:00").as_deref(), Some("2030-01-01T00:00:00Z"));
        assert_eq!(utc(" 2030-01-01T00:00:00 ").as_deref(), Some("2030-01-01T00:00:00Z"));
        assert_eq!(utc("2029-12-31T24:00:00Z").as_deref(), Some("2030-01-01T00:00:00Z"));
        assert_eq!(parse_xs_date_time("2030-01-01T00:00:00.1234567891Z"), Some(ts("2030-01-01T00:00:00.123456789Z")));
        for bad in [
            "",
            "2030-01-01",
            "2030-01-01 00:00:00Z",
            "2030-13-01T00:00:00Z",
            "2030-02-30T00:00:00Z",
            "2030-01-01T00:00:60Z",
            "2030-01-01T00:00:00.Z",
            "2030-01-01T00:00:00+2:00",
            "2030-01-01T00:00:00+15:00",
            "2030-01-01T24:00:01Z",
            "2030-01-01T00:00:00z",
            "+2030-01-01T00:00:00Z",
            "9999-12-31T23:00:00-14:00",
        ] {
            assert_eq!(parse_xs_date_time(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn timestamps_are_formatted_in_utc_without_fraction() {
        assert_eq!(format_timestamp(ts("2026-06-22T18:39:53.000Z")), "2026-06-22T18:39:53Z");
        let local = ts("2026-06-22T18:39:53.75Z").to_offset(UtcOffset::from_hms(5, 30, 0).expect("offset"));
        assert_eq!(format_timestamp(local), "2026-06-22T18:39:53Z");
    }
}
