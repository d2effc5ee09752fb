//! xAPI timestamps (§1.8, §1.10, §5.7): strict parsing and the one output form.
//!
//! Accepted: the ISO 8601 extended combined date-time that RFC 3339 profiles,
//! `YYYY-MM-DDThh:mm[:ss[.f…]][zone]`, with `T`, `t` or a space between date and time
//! (the 2.0 test suite sends the RFC 3339 space form), `.` or `,` before the fraction, and a
//! zone of `Z`/`z`, `±hh:mm`, `±hhmm` or `±hh`.
//!
//! Decisions:
//! - no zone designator: accepted and read as UTC (1.0.3 only recommends a zone; rejecting
//!   would break older clients, and an LRS must store UTC anyway);
//! - `-00:00`, `-0000`, `-00` ("local offset unknown", RFC 3339 §4.3): rejected, as the
//!   test suite requires;
//! - digits beyond nanoseconds are dropped (truncated); output keeps milliseconds;
//! - ISO 8601 basic format (`20240102T030405Z`), week and ordinal dates are rejected:
//!   no xAPI client sends them and they are easy to confuse with garbage;
//! - a leap second (`:60`) is accepted.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, SecondsFormat, TimeDelta, Timelike, Utc};

/// Strict xAPI timestamp parse, converting any offset to UTC. The error is a short reason.
pub fn parse_timestamp(s: &str) -> Result<DateTime<Utc>, String> {
    let b = s.as_bytes();
    let bad = || {
        format!(
            "not a valid ISO 8601 timestamp: {} (expected e.g. 2024-01-02T03:04:05.678Z)",
            super::error::quote(s)
        )
    };
    let mut p = Cursor { b, i: 0 };

    let year = p.digits(4).ok_or_else(bad)?;
    p.expect(b'-').ok_or_else(bad)?;
    let month = p.digits(2).ok_or_else(bad)?;
    p.expect(b'-').ok_or_else(bad)?;
    let day = p.digits(2).ok_or_else(bad)?;
    match p.next() {
        Some(b'T' | b't' | b' ') => {}
        _ => return Err(bad()),
    }
    let hour = p.digits(2).ok_or_else(bad)?;
    p.expect(b':').ok_or_else(bad)?;
    let minute = p.digits(2).ok_or_else(bad)?;
    let mut second = 0;
    let mut nanos: u32 = 0;
    if p.peek() == Some(b':') {
        p.i += 1;
        second = p.digits(2).ok_or_else(bad)?;
        if matches!(p.peek(), Some(b'.' | b',')) {
            p.i += 1;
            let start = p.i;
            let mut scale = 100_000_000;
            while let Some(d) = p.peek().filter(u8::is_ascii_digit) {
                nanos += u32::from(d - b'0') * scale;
                scale /= 10;
                p.i += 1;
            }
            if p.i == start {
                return Err(bad());
            }
        }
    }
    let offset_secs: i64 = match p.next() {
        None => 0,
        Some(b'Z' | b'z') => 0,
        Some(sign @ (b'+' | b'-')) => {
            let oh = p.digits(2).ok_or_else(bad)?;
            let om = match p.peek() {
                Some(b':') => {
                    p.i += 1;
                    p.digits(2).ok_or_else(bad)?
                }
                Some(_) => p.digits(2).ok_or_else(bad)?,
                None => 0,
            };
            if oh > 23 || om > 59 {
                return Err(bad());
            }
            if sign == b'-' && oh == 0 && om == 0 {
                return Err(format!(
                    "unknown local offset (-00:00) is not allowed in timestamp {}",
                    super::error::quote(s)
                ));
            }
            let secs = i64::from(oh * 3600 + om * 60);
            if sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        Some(_) => return Err(bad()),
    };
    if p.i != b.len() {
        return Err(bad());
    }

    let date = NaiveDate::from_ymd_opt(year as i32, month, day).ok_or_else(bad)?;
    let time = match second {
        // chrono represents a leap second as second 59 with nanos >= 1e9
        60 => NaiveTime::from_hms_nano_opt(hour, minute, 59, 1_000_000_000 + nanos),
        _ => NaiveTime::from_hms_nano_opt(hour, minute, second, nanos),
    }
    .ok_or_else(bad)?;
    let local = date.and_time(time);
    let utc = local
        .checked_sub_signed(TimeDelta::seconds(offset_secs))
        .ok_or_else(bad)?;
    Ok(utc.and_utc())
}

/// RFC 3339 in UTC with exactly 3 fractional digits and `Z`, e.g. `2024-01-02T03:04:05.678Z`.
/// Sub-millisecond digits are truncated. Hand-written because it runs for every stored
/// statement; years outside 0..=9999 fall back to chrono.
pub fn format_timestamp(t: &DateTime<Utc>) -> String {
    let year = t.year();
    if !(0..=9999).contains(&year) {
        return t.to_rfc3339_opts(SecondsFormat::Millis, true);
    }
    let nanos = t.nanosecond();
    let (second, millis) = if nanos >= 1_000_000_000 {
        (60, (nanos - 1_000_000_000) / 1_000_000)
    } else {
        (t.second(), nanos / 1_000_000)
    };
    let mut buf = [0u8; 24];
    let mut put = |at: usize, width: usize, mut v: u32| {
        for k in (0..width).rev() {
            buf[at + k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, year as u32);
    put(5, 2, t.month());
    put(8, 2, t.day());
    put(11, 2, t.hour());
    put(14, 2, t.minute());
    put(17, 2, second);
    put(20, 3, millis);
    buf[4] = b'-';
    buf[7] = b'-';
    buf[10] = b'T';
    buf[13] = b':';
    buf[16] = b':';
    buf[19] = b'.';
    buf[23] = b'Z';
    buf.iter().map(|&c| c as char).collect()
}

/// Rewrites a timestamp string to the canonical UTC form, or None when it is already in
/// that form or does not parse (validation reports the latter).
pub(crate) fn canonical_timestamp(s: &str) -> Option<String> {
    let formatted = format_timestamp(&parse_timestamp(s).ok()?);
    (formatted != s).then_some(formatted)
}

/// Byte cursor for the timestamp grammar.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }

    /// Exactly `n` ASCII digits as a number.
    fn digits(&mut self, n: usize) -> Option<u32> {
        let slice = self.b.get(self.i..self.i + n)?;
        let mut v = 0u32;
        for &d in slice {
            if !d.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u32::from(d - b'0');
        }
        self.i += n;
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(s: &str) -> String {
        format_timestamp(&parse_timestamp(s).unwrap())
    }

    // §1.8 convert to UTC; keep ms precision
    #[test]
    fn parses_and_converts_to_utc() {
        assert_eq!(fmt("2024-01-02T03:04:05.678Z"), "2024-01-02T03:04:05.678Z");
        assert_eq!(fmt("2024-01-02T12:00:00-05:00"), "2024-01-02T17:00:00.000Z");
        assert_eq!(fmt("2024-01-02T12:00:00+0530"), "2024-01-02T06:30:00.000Z");
        assert_eq!(fmt("2024-01-02T12:00:00+01"), "2024-01-02T11:00:00.000Z");
        assert_eq!(fmt("2024-01-02t12:00:00z"), "2024-01-02T12:00:00.000Z");
        assert_eq!(
            fmt("2008-09-15 15:53:00.601+00:00"),
            "2008-09-15T15:53:00.601Z"
        );
        assert_eq!(
            fmt("2024-01-02T03:04:05.123456789123Z"),
            "2024-01-02T03:04:05.123Z"
        );
        assert_eq!(fmt("2024-01-02T03:04:05,9Z"), "2024-01-02T03:04:05.900Z");
        assert_eq!(fmt("2024-01-02T03:04Z"), "2024-01-02T03:04:00.000Z");
        assert_eq!(fmt("2024-01-01T00:30:00+01:00"), "2023-12-31T23:30:00.000Z");
        assert_eq!(fmt("2016-12-31T23:59:60.5Z"), "2016-12-31T23:59:60.500Z");
    }

    #[test]
    fn keeps_sub_millisecond_precision_in_value() {
        let t = parse_timestamp("2024-01-02T03:04:05.123456Z").unwrap();
        assert_eq!(t.nanosecond(), 123_456_000);
    }

    #[test]
    fn no_zone_is_utc() {
        assert_eq!(fmt("2024-01-02T03:04:05"), "2024-01-02T03:04:05.000Z");
    }

    // §1.8 reject unknown offsets and non-timestamps
    #[test]
    fn rejects_invalid() {
        for bad in [
            "",
            "should fail",
            "01/011/2015",
            "2008-09-15T15:53:00.601-00",
            "2008-09-15T15:53:00.601-0000",
            "2008-09-15T15:53:00.601-00:00",
            "2024-02-30T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T23:60:00Z",
            "2024-01-01T23:00:61Z",
            "2024-01-01",
            "2024-01-01T",
            "2024-01-01T10",
            "2024-01-01T10:00:00.Z",
            "2024-01-01T10:00:00+24:00",
            "2024-01-01T10:00:00+05:60",
            "2024-01-01T10:00:00+5",
            "2024-01-01T10:00:00Z ",
            " 2024-01-01T10:00:00Z",
            "20240101T100000Z",
            "2024-1-01T10:00:00Z",
            "+2024-01-01T10:00:00Z",
            "2024-01-01T10:00:00ZZ",
            "２０２４-01-01T10:00:00Z",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad:?}");
        }
        let e = parse_timestamp("2008-09-15T15:53:00.601-00:00").unwrap_err();
        assert!(e.contains("unknown local offset"), "{e}");
    }

    #[test]
    fn positive_zero_offset_is_fine() {
        assert_eq!(
            fmt("2008-09-15T15:53:00.601+00:00"),
            "2008-09-15T15:53:00.601Z"
        );
        assert_eq!(
            fmt("2008-09-15T15:53:00.601+0000"),
            "2008-09-15T15:53:00.601Z"
        );
    }

    #[test]
    fn format_matches_chrono() {
        let t = parse_timestamp("0001-02-03T04:05:06.007Z").unwrap();
        assert_eq!(
            format_timestamp(&t),
            t.to_rfc3339_opts(SecondsFormat::Millis, true)
        );
        let far = DateTime::<Utc>::from_timestamp(300_000_000_000, 0).unwrap();
        assert_eq!(
            format_timestamp(&far),
            far.to_rfc3339_opts(SecondsFormat::Millis, true)
        );
    }

    #[test]
    fn canonical_only_when_different() {
        assert_eq!(canonical_timestamp("2024-01-02T03:04:05.678Z"), None);
        assert_eq!(
            canonical_timestamp("2024-01-02T03:04:05Z").as_deref(),
            Some("2024-01-02T03:04:05.000Z")
        );
        assert_eq!(canonical_timestamp("garbage"), None);
    }
}
