//! InfluxDB 1.x's response encodings of InfluxQL results: JSON (`results[].series[]`, one
//! document, or one document per chunk when `chunked=true`) and CSV (`Accept:
//! application/csv`), with times as RFC 3339 strings or as integers in the `epoch` unit.

use std::fmt::Write as _;

use chrono::Offset;

use tidemark_query::influxql::{ResultSeries, StatementResult, Value};

/// How times are written: RFC 3339 with nanoseconds trimmed, or integers of a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Epoch {
    /// `2024-01-01T00:00:00.5Z`
    Rfc3339,
    /// Integers: nanoseconds per unit.
    Unit(i64),
}

impl Epoch {
    /// Reads the `epoch` parameter (`h`, `m`, `s`, `ms`, `u`/`µ`, `ns`); unknown units are
    /// refused as InfluxDB does not (it falls back to nanoseconds), since a silently wrong unit
    /// gives wrong graphs.
    pub fn parse(text: Option<&str>) -> Result<Self, String> {
        Ok(match text {
            None | Some("") => Self::Rfc3339,
            Some("ns" | "n") => Self::Unit(1),
            Some("u" | "µ" | "us") => Self::Unit(1_000),
            Some("ms") => Self::Unit(1_000_000),
            Some("s") => Self::Unit(1_000_000_000),
            Some("m") => Self::Unit(60_000_000_000),
            Some("h") => Self::Unit(3_600_000_000_000),
            Some(other) => {
                return Err(format!("invalid epoch {other:?}: use h, m, s, ms, u or ns"));
            }
        })
    }
}

/// Writes `text` as a JSON string.
fn json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A float as Go's JSON encoder writes it: shortest round-trip digits, whole numbers without
/// a fraction, exponents outside [1e-6, 1e21); NaN and infinities (which Go refuses) as null.
pub fn format_float(value: f64) -> String {
    if !value.is_finite() {
        return "null".to_owned();
    }
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-6..1e21).contains(&magnitude) {
        let text = format!("{value:e}");
        return match text.split_once('e') {
            Some((mantissa, exponent)) if !exponent.starts_with('-') => {
                format!("{mantissa}e+{exponent}")
            }
            _ => text,
        };
    }
    format!("{value}")
}

/// RFC 3339 with the fraction's trailing zeros trimmed (Go's `RFC3339Nano`), in UTC (`Z`) or
/// in `zone` with its offset (`-06:00`), as a statement's `tz()` asks.
pub fn format_time(nanos: i64, zone: Option<chrono_tz::Tz>) -> String {
    let seconds = nanos.div_euclid(1_000_000_000);
    let fraction = nanos.rem_euclid(1_000_000_000);
    let Some(time) = chrono::DateTime::from_timestamp(seconds, 0) else {
        return nanos.to_string();
    };
    let (mut text, offset) = match zone {
        Some(zone) => {
            let local = time.with_timezone(&zone);
            let offset = local.offset().fix().local_minus_utc();
            (local.format("%Y-%m-%dT%H:%M:%S").to_string(), offset)
        }
        None => (time.format("%Y-%m-%dT%H:%M:%S").to_string(), 0),
    };
    if fraction != 0 {
        let digits = format!("{fraction:09}");
        text.push('.');
        text.push_str(digits.trim_end_matches('0'));
    }
    if offset == 0 {
        text.push('Z');
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let minutes = offset.abs() / 60;
        text.push_str(&format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60));
    }
    text
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Float(value) => out.push_str(&format_float(*value)),
        Value::Integer(value) => {
            let _ = write!(out, "{value}");
        }
        Value::Unsigned(value) => {
            let _ = write!(out, "{value}");
        }
        Value::String(text) => json_string(out, text),
        Value::Boolean(value) => out.push_str(if *value { "true" } else { "false" }),
    }
}

fn write_time(out: &mut String, nanos: i64, epoch: Epoch, zone: Option<chrono_tz::Tz>) {
    match epoch {
        Epoch::Rfc3339 => json_string(out, &format_time(nanos, zone)),
        Epoch::Unit(unit) => {
            let _ = write!(out, "{}", nanos / unit);
        }
    }
}

fn write_series(
    out: &mut String,
    series: &ResultSeries,
    rows: std::ops::Range<usize>,
    epoch: Epoch,
    partial: bool,
) {
    out.push('{');
    let mut first = true;
    let mut key = |out: &mut String, name: &str| {
        if !std::mem::take(&mut first) {
            out.push(',');
        }
        json_string(out, name);
        out.push(':');
    };
    if !series.name.is_empty() {
        key(out, "name");
        json_string(out, &series.name);
    }
    if !series.tags.is_empty() {
        key(out, "tags");
        out.push('{');
        for (index, (tag, value)) in series.tags.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            json_string(out, tag);
            out.push(':');
            json_string(out, value);
        }
        out.push('}');
    }
    key(out, "columns");
    out.push('[');
    for (index, column) in series.columns.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        json_string(out, column);
    }
    out.push(']');
    if !rows.is_empty() {
        key(out, "values");
        out.push('[');
        for (index, row) in series.rows[rows].iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            out.push('[');
            if series.has_time {
                write_time(out, row.time, epoch, series.zone);
            }
            for (column, value) in row.values.iter().enumerate() {
                if column > 0 || series.has_time {
                    out.push(',');
                }
                write_value(out, value);
            }
            out.push(']');
        }
        out.push(']');
    }
    if partial || series.partial {
        key(out, "partial");
        out.push_str("true");
    }
    out.push('}');
}

fn write_statement(out: &mut String, id: usize, result: &StatementResult, epoch: Epoch) {
    let _ = write!(out, "{{\"statement_id\":{id}");
    if let Some(error) = &result.error {
        out.push_str(",\"error\":");
        json_string(out, error);
    } else if !result.series.is_empty() {
        out.push_str(",\"series\":[");
        for (index, series) in result.series.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            write_series(out, series, 0..series.rows.len(), epoch, false);
        }
        out.push(']');
    }
    out.push('}');
}

/// The whole response as one JSON document.
pub fn json(results: &[StatementResult], epoch: Epoch) -> String {
    let mut out = String::from("{\"results\":[");
    for (id, result) in results.iter().enumerate() {
        if id > 0 {
            out.push(',');
        }
        write_statement(&mut out, id, result, epoch);
    }
    out.push_str("]}");
    out
}

/// The response as InfluxDB's chunked stream: one JSON document per line, each holding at
/// most `chunk_size` rows of one series; every chunk but a series' last is `partial`.
pub fn json_chunks(results: &[StatementResult], epoch: Epoch, chunk_size: usize) -> String {
    let chunk_size = chunk_size.max(1);
    let mut out = String::new();
    for (id, result) in results.iter().enumerate() {
        if result.error.is_some() || result.series.is_empty() {
            out.push_str("{\"results\":[");
            write_statement(&mut out, id, result, epoch);
            out.push_str("]}\n");
            continue;
        }
        for series in &result.series {
            let total = series.rows.len().max(1);
            let mut start = 0;
            while start < total {
                let end = (start + chunk_size).min(series.rows.len());
                let _ = write!(out, "{{\"results\":[{{\"statement_id\":{id},\"series\":[");
                write_series(&mut out, series, start..end, epoch, end < series.rows.len());
                out.push_str("]}]}\n");
                start += chunk_size;
            }
        }
    }
    out
}

fn csv_field(out: &mut String, text: &str) {
    if text.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&text.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(text);
    }
}

/// The response as InfluxDB 1.x's CSV: `name,tags,time,<columns>` per series, times as
/// integers (nanoseconds unless `epoch` says otherwise).
pub fn csv(results: &[StatementResult], epoch: Epoch) -> Result<String, String> {
    let unit = match epoch {
        Epoch::Rfc3339 => 1,
        Epoch::Unit(unit) => unit,
    };
    let mut out = String::new();
    let mut header: Option<Vec<String>> = None;
    for result in results {
        if let Some(error) = &result.error {
            return Err(error.clone());
        }
        for series in &result.series {
            let mut columns = vec!["name".to_owned(), "tags".to_owned()];
            columns.extend(series.columns.iter().cloned());
            if header.as_ref() != Some(&columns) {
                if header.is_some() {
                    out.push('\n');
                }
                out.push_str(&columns.join(","));
                out.push('\n');
                header = Some(columns);
            }
            let tags = series
                .tags
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",");
            for row in &series.rows {
                csv_field(&mut out, &series.name);
                out.push(',');
                csv_field(&mut out, &tags);
                if series.has_time {
                    let _ = write!(out, ",{}", row.time / unit);
                }
                for value in &row.values {
                    out.push(',');
                    match value {
                        Value::Null => {}
                        Value::Float(v) => out.push_str(&format_float(*v).replace("null", "")),
                        Value::Integer(v) => {
                            let _ = write!(out, "{v}");
                        }
                        Value::Unsigned(v) => {
                            let _ = write!(out, "{v}");
                        }
                        Value::String(text) => csv_field(&mut out, text),
                        Value::Boolean(v) => out.push_str(if *v { "true" } else { "false" }),
                    }
                }
                out.push('\n');
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_and_times_are_written_as_influxdb_writes_them() {
        assert_eq!(format_float(3.0), "3");
        assert_eq!(format_float(2.5), "2.5");
        assert_eq!(format_float(1.51657508881031), "1.51657508881031");
        assert_eq!(format_float(1e21), "1e+21");
        assert_eq!(format_float(1e-7), "1e-7");
        assert_eq!(format_float(f64::NAN), "null");
        let time = 1_700_000_000_000_000_000;
        assert_eq!(format_time(time, None), "2023-11-14T22:13:20Z");
        assert_eq!(
            format_time(time + 500_000_000, None),
            "2023-11-14T22:13:20.5Z"
        );
        assert_eq!(format_time(0, None), "1970-01-01T00:00:00Z");
        let chicago = "America/Chicago".parse().ok();
        assert_eq!(format_time(time, chicago), "2023-11-14T16:13:20-06:00");
        let kolkata = "Asia/Kolkata".parse().ok();
        assert_eq!(format_time(time, kolkata), "2023-11-15T03:43:20+05:30");
        assert_eq!(Epoch::parse(Some("ms")), Ok(Epoch::Unit(1_000_000)));
        assert!(Epoch::parse(Some("weeks")).is_err());
    }
}
