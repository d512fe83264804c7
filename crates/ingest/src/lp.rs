//! Line protocol in: request bodies become points, bad lines become [`LineError`]s with their
//! line numbers, and good lines are never lost because of bad neighbours.
//!
//! Parsing is [`scan`], a byte-level parser checked against the `influxdb-line-protocol` crate
//! (InfluxDB 3's parser, a port of the Go reference) by differential property tests. This
//! module adds what the servers add around parsing: physical line numbers (a quoted string may
//! span lines), comments, CRLF, precision and InfluxDB 3's `auto` precision, default timestamps,
//! and the checks the parser leaves to the server (non-finite floats, empty tag values, sizes).

mod precision;
mod scan;

use scan::split_lines;
use tidemark_storage::tsdb::{DataPoint, SeriesKey};

pub use precision::Precision;

use crate::error::LineError;

/// Longest string field value accepted (InfluxDB's documented 64 KiB limit).
pub const MAX_STRING_FIELD_BYTES: usize = 64 * 1024;
/// Longest measurement, tag or field name accepted.
pub const MAX_NAME_BYTES: usize = 64 * 1024;
/// How much of an offending line an error repeats.
const ORIGINAL_LINE_CHARS: usize = 256;

/// One point of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// 1-based line number in the request body.
    pub line: usize,
    /// Measurement and tags.
    pub series: SeriesKey,
    /// Field values, in line order; a repeated field keeps its last value.
    pub fields: Vec<(String, DataPoint)>,
    /// Nanoseconds since the Unix epoch.
    pub time: i64,
}

/// A parsed request body.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ParsedBatch {
    /// The good lines.
    pub points: Vec<Point>,
    /// The bad lines.
    pub errors: Vec<LineError>,
}

fn line_error(line: usize, original: &str, message: impl Into<String>) -> LineError {
    LineError {
        line,
        message: message.into(),
        original: original.chars().take(ORIGINAL_LINE_CHARS).collect(),
    }
}

/// Parses a whole body. `now` (ns) stamps points without a timestamp, truncated to the
/// precision as InfluxDB 3 does.
pub fn parse_lines(body: &[u8], precision: Precision, now: i64) -> ParsedBatch {
    let mut batch = ParsedBatch::default();
    match std::str::from_utf8(body) {
        Ok(text) => parse_text(text, precision, now, &mut batch),
        Err(_) => {
            // Reject exactly the lines that are not UTF-8; keep numbering for the rest.
            let mut cleaned = String::with_capacity(body.len());
            for (index, line) in body.split(|byte| *byte == b'\n').enumerate() {
                if index > 0 {
                    cleaned.push('\n');
                }
                match std::str::from_utf8(line) {
                    Ok(line) => cleaned.push_str(line),
                    Err(_) => batch.errors.push(line_error(
                        index + 1,
                        &String::from_utf8_lossy(line),
                        "line is not valid UTF-8",
                    )),
                }
            }
            parse_text(&cleaned, precision, now, &mut batch);
            batch.errors.sort_by_key(|error| error.line);
        }
    }
    batch
}

fn parse_text(text: &str, precision: Precision, now: i64, batch: &mut ParsedBatch) {
    let default_time = precision.truncate(now);
    let mut line_number = 1;
    for segment in split_lines(text) {
        let this_line = line_number;
        line_number += 1 + segment.bytes().filter(|byte| *byte == b'\n').count();
        let line = segment.strip_suffix('\r').unwrap_or(segment);
        let trimmed = line.trim_start_matches([' ', '\t']);
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match parse_one(trimmed, precision, default_time) {
            Ok((series, fields, time)) => batch.points.push(Point {
                line: this_line,
                series,
                fields,
                time,
            }),
            Err(message) => batch.errors.push(line_error(this_line, line, message)),
        }
    }
}

type ParsedPoint = (SeriesKey, Vec<(String, DataPoint)>, i64);

fn parse_one(line: &str, precision: Precision, default_time: i64) -> Result<ParsedPoint, String> {
    let parsed = scan::parse_line(line)?;
    check_name("measurement", &parsed.measurement)?;
    for (key, value) in &parsed.tags {
        check_name("tag key", key)?;
        check_name("tag value", value)?;
        if key == RESERVED_COLUMN {
            return Err(format!(
                "tag key `{RESERVED_COLUMN}` is reserved for the timestamp column"
            ));
        }
    }
    let mut fields: Vec<(String, DataPoint)> = Vec::with_capacity(parsed.fields.len());
    for (name, value) in parsed.fields {
        check_name("field key", &name)?;
        if name == RESERVED_COLUMN {
            return Err(format!(
                "field key `{RESERVED_COLUMN}` is reserved for the timestamp column"
            ));
        }
        if parsed.tags.iter().any(|(tag, _)| *tag == name) {
            return Err(format!(
                "`{name}` is both a tag key and a field key; a column can be only one"
            ));
        }
        match &value {
            DataPoint::F64(number) if !number.is_finite() => {
                return Err(format!(
                    "field `{name}` is {number}: NaN and infinite floats are not accepted"
                ));
            }
            DataPoint::Str(text) if text.len() > MAX_STRING_FIELD_BYTES => {
                return Err(format!(
                    "field `{name}` is a string of {} bytes; the limit is {MAX_STRING_FIELD_BYTES}",
                    text.len()
                ));
            }
            _ => {}
        }
        match fields.iter_mut().find(|(existing, _)| *existing == name) {
            Some(slot) => slot.1 = value,
            None => fields.push((name, value)),
        }
    }
    let time = match parsed.timestamp {
        Some(raw) => precision
            .to_nanos(raw)
            .ok_or_else(|| format!("timestamp {raw} is out of range for precision {precision}"))?,
        None => default_time,
    };
    Ok((
        SeriesKey::new(parsed.measurement, parsed.tags),
        fields,
        time,
    ))
}

/// The timestamp column of every table; no tag or field may take its name.
const RESERVED_COLUMN: &str = "time";

fn check_name(what: &str, name: &str) -> Result<(), String> {
    if name.len() > MAX_NAME_BYTES {
        return Err(format!(
            "{what} is {} bytes long; the limit is {MAX_NAME_BYTES}",
            name.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod differential;
#[cfg(test)]
mod tests;
