//! ISO 8601:2004 durations (§1.10): `PnYnMnDTnHnMnS` or `PnW` alone.
//!
//! Rules taken:
//! - at least one component; `T` must be followed by at least one time component;
//! - components appear in order, each at most once; weeks cannot be combined (`P4W1D`);
//! - each number is one or more ASCII digits; a decimal fraction (`.` or `,`) is allowed on
//!   the last (lowest-order) component only, as ISO 8601 says;
//! - the "alternative" format (`P0003-01-01T…`) and negative durations are rejected.
//!
//! For comparisons and storage, digits finer than 0.01 s are dropped by truncation (never
//! rounding), and only on the seconds component: `PT1.12567S` -> `PT1.12S`.

use std::borrow::Cow;

/// ISO 8601 duration check.
pub fn is_valid_duration(s: &str) -> bool {
    parse(s).is_some()
}

/// Duration in seconds for analytics; years count 365 days and months 30 days (a duration
/// has no anchor date, so calendar lengths are unknowable). None when invalid, or too
/// large for an f64.
pub fn duration_seconds(s: &str) -> Option<f64> {
    parse(s).map(|d| d.seconds).filter(|s| s.is_finite())
}

/// The duration with seconds digits beyond the second decimal removed, borrowing when there
/// is nothing to cut (the common case). Invalid input is returned unchanged.
pub(crate) fn truncate_duration(s: &str) -> Cow<'_, str> {
    match parse(s).and_then(|d| d.seconds_fraction) {
        Some((start, end)) if end - start > 2 => {
            let mut out = String::with_capacity(start + 3);
            out.push_str(&s[..start + 2]);
            out.push('S');
            Cow::Owned(out)
        }
        _ => Cow::Borrowed(s),
    }
}

struct Parsed {
    seconds: f64,
    /// Byte range of the fraction digits of the `S` component, if it has any.
    seconds_fraction: Option<(usize, usize)>,
}

const DAY: f64 = 86_400.0;
/// Designators allowed in order, with their length in seconds.
const DATE_UNITS: [(u8, f64); 3] = [(b'Y', 365.0 * DAY), (b'M', 30.0 * DAY), (b'D', DAY)];
const TIME_UNITS: [(u8, f64); 3] = [(b'H', 3600.0), (b'M', 60.0), (b'S', 1.0)];

fn parse(s: &str) -> Option<Parsed> {
    let b = s.as_bytes();
    if b.first() != Some(&b'P') {
        return None;
    }
    // Weeks stand alone: PnW.
    if let Some(n) = number(b, 1) {
        if b.get(n.end) == Some(&b'W') {
            return (n.end + 1 == b.len()).then_some(Parsed {
                seconds: n.value * 7.0 * DAY,
                seconds_fraction: None,
            });
        }
    }
    let mut acc = Parsed {
        seconds: 0.0,
        seconds_fraction: None,
    };
    let mut state = Components {
        count: 0,
        had_fraction: false,
    };
    match b.iter().position(|&c| c == b'T') {
        None => state.read(b, 1, b.len(), &DATE_UNITS, &mut acc)?,
        Some(t) => {
            state.read(b, 1, t, &DATE_UNITS, &mut acc)?;
            let before = state.count;
            state.read(b, t + 1, b.len(), &TIME_UNITS, &mut acc)?;
            if state.count == before {
                return None; // "T" must be followed by a time component
            }
        }
    }
    (state.count > 0).then_some(acc)
}

struct Components {
    count: usize,
    had_fraction: bool,
}

impl Components {
    /// Reads `n<designator>` components from `b[i..end]`, designators in `units` order.
    fn read(
        &mut self,
        b: &[u8],
        mut i: usize,
        end: usize,
        mut units: &[(u8, f64)],
        acc: &mut Parsed,
    ) -> Option<()> {
        while i < end {
            if self.had_fraction {
                return None; // a fraction is only allowed on the last component
            }
            let n = number(b, i)?;
            if n.end >= end {
                return None;
            }
            let pos = units.iter().position(|&(d, _)| d == b[n.end])?;
            let (designator, secs) = units[pos];
            acc.seconds += n.value * secs;
            if designator == b'S' {
                acc.seconds_fraction = n.fraction;
            }
            self.had_fraction = n.fraction.is_some();
            self.count += 1;
            units = &units[pos + 1..];
            i = n.end + 1;
        }
        Some(())
    }
}

struct Number {
    value: f64,
    /// Index of the byte after the number (the designator).
    end: usize,
    /// Byte range of the fraction digits, if any.
    fraction: Option<(usize, usize)>,
}

/// Digits with an optional `.`/`,` fraction starting at `i`.
fn number(b: &[u8], mut i: usize) -> Option<Number> {
    let start = i;
    let mut value = 0.0;
    while let Some(d) = b.get(i).filter(|c| c.is_ascii_digit()) {
        value = value * 10.0 + f64::from(d - b'0');
        i += 1;
    }
    if i == start {
        return None;
    }
    let mut fraction = None;
    if matches!(b.get(i), Some(b'.' | b',')) {
        i += 1;
        let fstart = i;
        let mut scale = 0.1;
        while let Some(d) = b.get(i).filter(|c| c.is_ascii_digit()) {
            value += f64::from(d - b'0') * scale;
            scale /= 10.0;
            i += 1;
        }
        if i == fstart {
            return None;
        }
        fraction = Some((fstart, i));
    }
    Some(Number {
        value,
        end: i,
        fraction,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // §1.10 duration format
    #[test]
    fn valid_durations() {
        for ok in [
            "PT1H0M0.1S",
            "PT4H35M59.14S",
            "PT16559.14S",
            "P3Y1M29DT4H35M59.14S",
            "P3Y",
            "P4W",
            "P1.5W",
            "PT0S",
            "P1D",
            "P1M",
            "PT1M",
            "P1DT1H",
            "PT1.12567S",
            "PT0,5S",
            "P0D",
            "PT36H",
            "P1Y2M",
            "P1MT1M",
        ] {
            assert!(is_valid_duration(ok), "{ok}");
        }
    }

    #[test]
    fn invalid_durations() {
        for bad in [
            "",
            "P",
            "PT",
            "P1",
            "PT1",
            "P4W1D",
            "P1DT",
            "PA1H0M0S",
            "should fail",
            "P16559.14S",
            "PT1S1M",
            "P1M1Y",
            "P1Y1Y",
            "P0003-01-01T00:00:00",
            "-P1D",
            "P-1D",
            "pt1s",
            "PT1.S",
            "PT.5S",
            "P1.5DT1H",
            "PT1.5M1S",
            "P1W2W",
            "PT1H ",
            " PT1H",
            "P1DT1H1D",
            "PT1HT1M",
            "P1WT1H",
            "P1H",
            "PT1D",
        ] {
            assert!(!is_valid_duration(bad), "{bad}");
        }
    }

    #[test]
    fn seconds_for_analytics() {
        assert_eq!(duration_seconds("PT1H30M"), Some(5400.0));
        assert_eq!(duration_seconds("P1W"), Some(604_800.0));
        assert_eq!(
            duration_seconds("P1Y1M1D"),
            Some((365.0 + 30.0 + 1.0) * 86_400.0)
        );
        assert!((duration_seconds("PT1.25S").unwrap() - 1.25).abs() < 1e-9);
        assert_eq!(duration_seconds("P4W1D"), None);
        let huge = format!("P{}Y", "9".repeat(400));
        assert!(is_valid_duration(&huge));
        assert_eq!(duration_seconds(&huge), None);
    }

    // §1.10 truncate (never round) below 0.01 s
    #[test]
    fn truncation() {
        assert_eq!(truncate_duration("PT1.12567S"), "PT1.12S");
        assert_eq!(truncate_duration("PT1.129S"), "PT1.12S");
        assert_eq!(truncate_duration("P1DT2H3M4.999S"), "P1DT2H3M4.99S");
        assert_eq!(truncate_duration("PT0,12567S"), "PT0,12S");
        assert!(matches!(truncate_duration("PT1.12S"), Cow::Borrowed(_)));
        assert!(matches!(truncate_duration("PT1H"), Cow::Borrowed(_)));
        assert_eq!(truncate_duration("PT1.12567M"), "PT1.12567M");
        assert_eq!(truncate_duration("garbage.12345S"), "garbage.12345S");
    }
}
