//! Timestamp precision of a write request.

use std::fmt;

/// The unit of the timestamps in a write request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// Nanoseconds.
    Nanosecond,
    /// Microseconds.
    Microsecond,
    /// Milliseconds.
    Millisecond,
    /// Seconds.
    Second,
    /// Minutes (InfluxDB 1.x only).
    Minute,
    /// Hours (InfluxDB 1.x only).
    Hour,
    /// InfluxDB 3: guessed per timestamp from its magnitude.
    Auto,
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Nanosecond => "ns",
            Self::Microsecond => "us",
            Self::Millisecond => "ms",
            Self::Second => "s",
            Self::Minute => "m",
            Self::Hour => "h",
            Self::Auto => "auto",
        })
    }
}

impl Precision {
    /// Parses a `precision` query parameter in any of the spellings InfluxDB 1, 2 and 3 accept.
    pub fn parse(value: &str) -> Result<Self, String> {
        Ok(match value {
            "n" | "ns" | "nanosecond" => Self::Nanosecond,
            "u" | "us" | "µs" | "microsecond" => Self::Microsecond,
            "ms" | "millisecond" => Self::Millisecond,
            "s" | "second" => Self::Second,
            "m" | "minute" => Self::Minute,
            "h" | "hour" => Self::Hour,
            "auto" => Self::Auto,
            other => {
                return Err(format!(
                    "invalid precision {other:?} (use ns, us, ms, s, m, h or auto)"
                ));
            }
        })
    }

    fn nanos_per_unit(self, timestamp: i64) -> i64 {
        match self {
            Self::Nanosecond => 1,
            Self::Microsecond => 1_000,
            Self::Millisecond => 1_000_000,
            Self::Second => 1_000_000_000,
            Self::Minute => 60_000_000_000,
            Self::Hour => 3_600_000_000_000,
            Self::Auto => {
                // InfluxDB 3's guess: v = |ts| / 1e9.
                let magnitude = timestamp.unsigned_abs() / 1_000_000_000;
                if magnitude < 5 {
                    1_000_000_000
                } else if magnitude < 5_000 {
                    1_000_000
                } else if magnitude < 5_000_000 {
                    1_000
                } else {
                    1
                }
            }
        }
    }

    /// Converts a timestamp in this precision to nanoseconds, or `None` on overflow.
    pub fn to_nanos(self, timestamp: i64) -> Option<i64> {
        timestamp.checked_mul(self.nanos_per_unit(timestamp))
    }

    /// Truncates a nanosecond time to this precision (InfluxDB 3's default-time rule).
    pub fn truncate(self, nanos: i64) -> i64 {
        let unit = match self {
            Self::Auto => 1,
            other => other.nanos_per_unit(0),
        };
        nanos - nanos.rem_euclid(unit)
    }
}
