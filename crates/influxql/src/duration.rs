//! InfluxQL duration literals (`10s`, `1h30m`, `1700000000000ms`) as signed nanoseconds.

/// Nanoseconds in each unit InfluxQL knows.
const NS: i64 = 1;
const US: i64 = 1_000;
const MS: i64 = 1_000_000;
const S: i64 = 1_000_000_000;
const M: i64 = 60 * S;
const H: i64 = 60 * M;
const D: i64 = 24 * H;
const W: i64 = 7 * D;

/// Why a duration literal was refused; the messages are InfluxDB 1.x's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not of the form `<digits><unit>` repeated, or a unit InfluxQL lacks.
    #[error("invalid duration")]
    Invalid,
    /// The total does not fit in 64-bit nanoseconds.
    #[error("overflowed duration {0}: choose a smaller duration or INF")]
    Overflow(String),
}

/// Parses an InfluxQL duration into nanoseconds: one or more `<digits><unit>` parts, summed,
/// with an optional leading `-`. Units: `ns`, `u`/`µ`, `ms`, `s`, `m`, `h`, `d`, `w`.
pub fn parse_duration(text: &str) -> Result<i64, DurationError> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if text.chars().count() < 2 {
        return Err(DurationError::Invalid);
    }
    let mut total: i64 = 0;
    let mut rest = body;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 || digits == rest.len() {
            return Err(DurationError::Invalid);
        }
        let number: i64 = rest[..digits].parse().map_err(|_| DurationError::Invalid)?;
        let after = &rest[digits..];
        let (unit, unit_len) = if after.starts_with("ns") {
            (NS, 2)
        } else if after.starts_with("ms") {
            (MS, 2)
        } else if after.starts_with('µ') {
            (US, 'µ'.len_utf8())
        } else {
            match after.as_bytes()[0] {
                b'u' => (US, 1),
                b's' => (S, 1),
                b'm' => (M, 1),
                b'h' => (H, 1),
                b'd' => (D, 1),
                b'w' => (W, 1),
                _ => return Err(DurationError::Invalid),
            }
        };
        let overflow = || DurationError::Overflow(rest[..digits + unit_len].to_string());
        let part = number.checked_mul(unit).ok_or_else(overflow)?;
        total = total.checked_add(part).ok_or_else(overflow)?;
        rest = &after[unit_len..];
    }
    Ok(if negative { -total } else { total })
}

/// Formats nanoseconds in the largest unit that divides them exactly (`90m`, `1w`, `250ms`),
/// as InfluxDB does; `0` is `0s`. The result parses back to the same value, except for
/// `i64::MIN`, whose magnitude has no positive literal.
pub fn format_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    for (unit, suffix) in [
        (W, "w"),
        (D, "d"),
        (H, "h"),
        (M, "m"),
        (S, "s"),
        (MS, "ms"),
        (US, "u"),
    ] {
        if ns % unit == 0 {
            return format!("{}{suffix}", ns / unit);
        }
    }
    format!("{ns}ns")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_duration("10ns"), Ok(10));
        assert_eq!(parse_duration("10u"), Ok(10 * US));
        assert_eq!(parse_duration("10µ"), Ok(10 * US));
        assert_eq!(parse_duration("100ms"), Ok(100 * MS));
        assert_eq!(parse_duration("30s"), Ok(30 * S));
        assert_eq!(parse_duration("5m"), Ok(5 * M));
        assert_eq!(parse_duration("1h"), Ok(H));
        assert_eq!(parse_duration("1d"), Ok(D));
        assert_eq!(parse_duration("1w"), Ok(W));
        assert_eq!(parse_duration("1h30m"), Ok(H + 30 * M));
        assert_eq!(parse_duration("-5s"), Ok(-5 * S));
        assert_eq!(
            parse_duration("1700000000000ms"),
            Ok(1_700_000_000_000 * MS)
        );
    }

    #[test]
    fn refuses_malformed_durations() {
        for bad in ["", "s", "1", "10", "1x", "1n", "h1", "1h3", "1.5h", "--1s"] {
            assert_eq!(parse_duration(bad), Err(DurationError::Invalid), "{bad}");
        }
        assert_eq!(
            parse_duration("9999999999999999h"),
            Err(DurationError::Overflow("9999999999999999h".to_string()))
        );
        assert_eq!(
            parse_duration("99999999999999999999s"),
            Err(DurationError::Invalid)
        );
    }

    #[test]
    fn formats_in_the_largest_exact_unit() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(90 * M), "90m");
        assert_eq!(format_duration(2 * W), "2w");
        assert_eq!(format_duration(3 * D), "3d");
        assert_eq!(format_duration(-5 * S), "-5s");
        assert_eq!(format_duration(250 * MS), "250ms");
        assert_eq!(format_duration(7 * US), "7u");
        assert_eq!(format_duration(7), "7ns");
        for ns in [1, 999, 1_500_000, 86_400 * S, -3 * H, i64::MAX] {
            assert_eq!(parse_duration(&format_duration(ns)), Ok(ns), "{ns}");
        }
    }
}
