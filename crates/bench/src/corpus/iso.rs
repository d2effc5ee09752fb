//! ISO 8601 text for timestamps and durations, computed from integer milliseconds so the
//! output never depends on float formatting or the local time zone.

use chrono::{DateTime, Utc};

/// Base time of every corpus: Monday 2024-01-08 08:00:00 UTC (ms since the epoch).
pub const BASE_TIME_MS: i64 = 1_704_700_800_000;

/// `2024-01-08T08:00:00.000Z`: UTC, millisecond precision, `Z` suffix.
pub fn timestamp(ms: i64) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        // Unreachable for corpus times (years 2024..); keep a valid value anyway.
        None => "2024-01-08T08:00:00.000Z".to_string(),
    }
}

/// `PT4M12.5S`: hours, minutes and seconds with at most two decimals, zero parts omitted
/// (`PT0S` for nothing). Precision is the hundredth of a second, like SCORM's timespans.
pub fn duration(ms: i64) -> String {
    let centis = ms.max(0) / 10;
    let hours = centis / 360_000;
    let minutes = centis / 6_000 % 60;
    let seconds = centis / 100 % 60;
    let fraction = centis % 100;
    let mut out = String::from("PT");
    if hours > 0 {
        out.push_str(&format!("{hours}H"));
    }
    if minutes > 0 {
        out.push_str(&format!("{minutes}M"));
    }
    if seconds > 0 || fraction > 0 || (hours == 0 && minutes == 0) {
        out.push_str(&seconds.to_string());
        if fraction > 0 {
            let digits = format!("{fraction:02}");
            out.push('.');
            out.push_str(digits.trim_end_matches('0'));
        }
        out.push('S');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_time_is_a_monday_morning() {
        assert_eq!(timestamp(BASE_TIME_MS), "2024-01-08T08:00:00.000Z");
        assert_eq!(timestamp(BASE_TIME_MS + 1_234), "2024-01-08T08:00:01.234Z");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(0), "PT0S");
        assert_eq!(duration(252_500), "PT4M12.5S");
        assert_eq!(duration(3_600_000), "PT1H");
        assert_eq!(duration(3_661_050), "PT1H1M1.05S");
        assert_eq!(duration(59_999), "PT59.99S");
        assert_eq!(duration(120_000), "PT2M");
        assert_eq!(duration(-5), "PT0S");
    }
}
