//! Go duration strings (`time.ParseDuration`), as used by `max_pack_idle` and
//! the `retries` sub-table: `"300ms"`, `"1.5h"`, `"2h45m"`.
//!
//! A duration is one or more decimal numbers, each with an optional fraction
//! and a unit suffix: `ns`, `us` (or `µs`, `μs`), `ms`, `s`, `m`, `h`. A
//! leading `+` is accepted; `"0"` alone needs no unit. Unlike Go, negative
//! durations are rejected: nothing in Heka's configuration can use one.

use std::time::Duration;

/// Why a duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not of the form `<number><unit>...`.
    #[error("invalid duration {0:?}")]
    Invalid(String),
    /// A number without a unit.
    #[error("missing unit in duration {0:?}")]
    MissingUnit(String),
    /// A unit that is not one of ns, us, µs, ms, s, m, h.
    #[error("unknown unit {unit:?} in duration {input:?}")]
    UnknownUnit {
        /// The unit as written.
        unit: String,
        /// The whole duration string.
        input: String,
    },
    /// A negative duration.
    #[error("negative duration {0:?} is not allowed")]
    Negative(String),
    /// More than Go's maximum of about 292 years.
    #[error("duration {0:?} is out of range")]
    Overflow(String),
}

/// Parses a Go duration string such as `"1.5h"` or `"2h45m"`.
pub fn parse_go_duration(input: &str) -> Result<Duration, DurationError> {
    let invalid = || DurationError::Invalid(input.to_owned());
    let overflow = || DurationError::Overflow(input.to_owned());
    let mut s = input;
    let mut negative = false;
    if let Some(rest) = s.strip_prefix('-') {
        negative = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    // Go's limit: the total must fit an int64 of nanoseconds.
    let max = u128::from(i64::MAX.unsigned_abs());
    let mut total: u128 = 0;
    while !s.is_empty() {
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let (int_digits, rest) = s.split_at(int_len);
        s = rest;
        let mut frac_digits = "";
        if let Some(rest) = s.strip_prefix('.') {
            let frac_len = rest.bytes().take_while(u8::is_ascii_digit).count();
            (frac_digits, s) = rest.split_at(frac_len);
        }
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(invalid());
        }
        let unit_len = s
            .char_indices()
            .find(|&(_, c)| c == '.' || c.is_ascii_digit())
            .map_or(s.len(), |(i, _)| i);
        let (unit, rest) = s.split_at(unit_len);
        s = rest;
        let scale: u128 = match unit {
            "" => return Err(DurationError::MissingUnit(input.to_owned())),
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3_600 * 1_000_000_000,
            _ => {
                return Err(DurationError::UnknownUnit {
                    unit: unit.to_owned(),
                    input: input.to_owned(),
                });
            }
        };
        let whole = int_digits
            .bytes()
            .try_fold(0u128, |acc, d| {
                acc.checked_mul(10)?.checked_add(u128::from(d - b'0'))
            })
            .filter(|&v| v <= max)
            .ok_or_else(overflow)?;
        // Digits beyond nanosecond precision of the largest unit can't change
        // the (truncated) result; ignoring them keeps the arithmetic small.
        let (mut frac, mut frac_scale) = (0u128, 1u128);
        for d in frac_digits.bytes().take(24) {
            frac = frac * 10 + u128::from(d - b'0');
            frac_scale *= 10;
        }
        total = whole
            .checked_mul(scale)
            .and_then(|v| v.checked_add(frac * scale / frac_scale))
            .and_then(|v| total.checked_add(v))
            .filter(|&v| v <= max)
            .ok_or_else(overflow)?;
    }
    if negative && total != 0 {
        return Err(DurationError::Negative(input.to_owned()));
    }
    u64::try_from(total)
        .map(Duration::from_nanos)
        .map_err(|_| overflow())
}

/// Serde adapter: a Go duration string.
pub(crate) fn deserialize<'de, D>(deserializer: D) -> Result<Duration, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct Visitor;
    impl serde::de::Visitor<'_> for Visitor {
        type Value = Duration;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a duration string such as \"250ms\" or \"1m30s\"")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Duration, E> {
            parse_go_duration(v).map_err(E::custom)
        }
    }
    deserializer.deserialize_str(Visitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn parses_go_examples() {
        let cases = [
            ("0", Duration::ZERO),
            ("+0", Duration::ZERO),
            ("-0", Duration::ZERO),
            ("0s", Duration::ZERO),
            ("300ms", ms(300)),
            ("250ms", ms(250)),
            ("500ms", ms(500)),
            ("30s", Duration::from_secs(30)),
            ("2m", Duration::from_secs(120)),
            ("1.5h", Duration::from_secs(5400)),
            ("2h45m", Duration::from_secs(2 * 3600 + 45 * 60)),
            ("1h2m3s4ms5us6ns", Duration::new(3723, 4_005_006)),
            ("1µs", Duration::from_micros(1)),
            ("1μs", Duration::from_micros(1)),
            ("7us", Duration::from_micros(7)),
            ("15ns", Duration::from_nanos(15)),
            (".5s", ms(500)),
            ("1.s", Duration::from_secs(1)),
            ("1.0000000001s", Duration::from_secs(1)),
            (
                "0.3333333333333333333333h",
                Duration::from_nanos(1_199_999_999_999),
            ),
            ("+5s", Duration::from_secs(5)),
            ("2562047h", Duration::from_secs(2_562_047 * 3600)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_go_duration(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(
            parse_go_duration(""),
            Err(DurationError::Invalid(String::new()))
        );
        assert!(matches!(
            parse_go_duration("."),
            Err(DurationError::Invalid(_))
        ));
        assert!(matches!(
            parse_go_duration("s"),
            Err(DurationError::Invalid(_))
        ));
        assert!(matches!(
            parse_go_duration("1"),
            Err(DurationError::MissingUnit(_))
        ));
        assert!(matches!(
            parse_go_duration("1h30"),
            Err(DurationError::MissingUnit(_))
        ));
        assert_eq!(
            parse_go_duration("3days"),
            Err(DurationError::UnknownUnit {
                unit: "days".into(),
                input: "3days".into()
            })
        );
        assert!(matches!(
            parse_go_duration("1 s"),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse_go_duration("-1s"),
            Err(DurationError::Negative(_))
        ));
        assert!(matches!(
            parse_go_duration("2562048h"),
            Err(DurationError::Overflow(_))
        ));
        assert!(matches!(
            parse_go_duration("99999999999999999999999999999999999999999s"),
            Err(DurationError::Overflow(_))
        ));
        assert_eq!(
            parse_go_duration("5x").unwrap_err().to_string(),
            "unknown unit \"x\" in duration \"5x\""
        );
    }
}
