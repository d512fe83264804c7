//! Line protocol in: request bodies become a [`WriteBatch`], bad lines become [`LineError`]s
//! with their line numbers, and good lines are never lost because of bad neighbours.
//!
//! Parsing is [`scan`], a byte-level parser checked against the `influxdb-line-protocol` crate
//! (InfluxDB 3's parser, a port of the Go reference) by differential property tests. This
//! module adds what the servers add around parsing: physical line numbers (a quoted string may
//! span lines), comments, CRLF, precision and InfluxDB 3's `auto` precision, default timestamps,
//! the checks the parser leaves to the server (non-finite floats, reserved and duplicate
//! names), and the bounds of [`IngestLimits`].
//!
//! Lines are grouped by series as they are read: a line whose series section (measurement and
//! tags, as written) was seen before in the request costs no tag parsing and no allocation for
//! its series.

mod precision;
mod scan;

use std::borrow::Cow;
use std::collections::HashMap;

use scan::split_lines;
use tidemark_storage::tsdb::{DataPoint, FieldType, SeriesKey};

pub use precision::Precision;

use crate::batch::{SeriesIdentity, SeriesRows, WriteBatch};
use crate::error::LineError;
use crate::limits::{IngestLimits, refused};

/// How much of an offending line an error repeats.
const ORIGINAL_LINE_CHARS: usize = 256;
/// The timestamp column of every table; no tag or field may take its name.
const RESERVED_COLUMN: &str = "time";

fn line_error(line: usize, original: &str, message: impl Into<String>) -> LineError {
    LineError {
        line,
        message: message.into(),
        original: original.chars().take(ORIGINAL_LINE_CHARS).collect(),
    }
}

/// Parses a whole body. `now` (ns) stamps points without a timestamp, truncated to the
/// precision as InfluxDB 3 does.
pub fn parse_lines(
    body: &[u8],
    precision: Precision,
    now: i64,
    limits: &IngestLimits,
) -> WriteBatch {
    match std::str::from_utf8(body) {
        Ok(text) => Parser::new(precision, now, limits).run(text),
        Err(_) => {
            // Reject exactly the lines that are not UTF-8; keep numbering for the rest.
            let mut cleaned = String::with_capacity(body.len());
            let mut errors = Vec::new();
            for (index, line) in body.split(|byte| *byte == b'\n').enumerate() {
                if index > 0 {
                    cleaned.push('\n');
                }
                match std::str::from_utf8(line) {
                    Ok(line) => cleaned.push_str(line),
                    Err(_) => errors.push(line_error(
                        index + 1,
                        &String::from_utf8_lossy(line),
                        "line is not valid UTF-8",
                    )),
                }
            }
            let mut batch = Parser::new(precision, now, limits).run(&cleaned);
            batch.errors.extend(errors);
            batch.errors.sort_by_key(|error| error.line);
            batch
        }
    }
}

/// Parses a series written as in line protocol (`measurement,tag=value,...`), checked as a
/// write would check it.
pub fn parse_series_key(text: &str, limits: &IngestLimits) -> Result<SeriesKey, String> {
    let (series, rest) = scan::split_series(text.trim());
    if !rest.trim().is_empty() {
        return Err(format!(
            "invalid series {text:?}: unexpected {:?}",
            rest.trim()
        ));
    }
    Parser::new(Precision::Nanosecond, 0, limits)
        .series_key(series)
        .map_err(|error| format!("invalid series {text:?}: {error}"))
}

/// The state of one body's parse.
struct Parser<'l> {
    precision: Precision,
    default_time: i64,
    limits: &'l IngestLimits,
    batch: WriteBatch,
    /// Field types of the request per measurement: the first line's type wins within it.
    field_types: HashMap<String, HashMap<String, FieldType>>,
}

impl<'l> Parser<'l> {
    fn new(precision: Precision, now: i64, limits: &'l IngestLimits) -> Self {
        Self {
            precision,
            default_time: precision.truncate(now),
            limits,
            batch: WriteBatch::default(),
            field_types: HashMap::new(),
        }
    }

    fn run(mut self, text: &str) -> WriteBatch {
        let mut series_index: HashMap<&str, usize> = HashMap::new();
        let mut fields: Vec<(Cow<'_, str>, DataPoint)> = Vec::with_capacity(16);
        let mut line_number = 1;
        for segment in split_lines(text) {
            let this_line = line_number;
            line_number += 1 + segment.bytes().filter(|byte| *byte == b'\n').count();
            let line = segment.strip_suffix('\r').unwrap_or(segment);
            let trimmed = line.trim_start_matches([' ', '\t']);
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            fields.clear();
            if let Err(message) = self.parse_one(trimmed, this_line, &mut series_index, &mut fields)
            {
                self.batch.errors.push(line_error(this_line, line, message));
            }
        }
        self.batch
    }

    fn parse_one<'t>(
        &mut self,
        line: &'t str,
        number: usize,
        series_index: &mut HashMap<&'t str, usize>,
        fields: &mut Vec<(Cow<'t, str>, DataPoint)>,
    ) -> Result<(), String> {
        let (raw_series, rest) = scan::split_series(line);
        let index = match series_index.get(raw_series) {
            Some(index) => *index,
            None => {
                let key = self.series_key(raw_series)?;
                let identity = SeriesIdentity::of([raw_series.as_bytes()]);
                self.batch
                    .series
                    .push(SeriesRows::new(key, identity, number as u32));
                series_index.insert(raw_series, self.batch.series.len() - 1);
                self.batch.series.len() - 1
            }
        };
        let timestamp = scan::parse_fields_and_time(rest, fields)?;
        self.check_fields(index, fields)?;
        let time = match timestamp {
            Some(raw) => self.precision.to_nanos(raw).ok_or_else(|| {
                format!(
                    "timestamp {raw} is out of range for precision {}",
                    self.precision
                )
            })?,
            None => self.default_time,
        };
        self.batch.series[index].push_row(number as u32, time, fields)
    }

    /// The series key of a series section, checked.
    fn series_key(&self, raw_series: &str) -> Result<SeriesKey, String> {
        let (measurement, tags) = scan::parse_series(raw_series)?;
        if tags.iter().any(|(key, _)| key == RESERVED_COLUMN) {
            return Err(format!(
                "tag key `{RESERVED_COLUMN}` is reserved for the timestamp column"
            ));
        }
        self.limits.series(
            &measurement,
            tags.iter()
                .map(|(key, value)| (key.as_str(), value.as_str())),
        )?;
        Ok(SeriesKey::new(measurement, tags))
    }

    /// Checks a line's fields (names, values, count, types against the request's earlier
    /// lines), and keeps only the last of a repeated field.
    fn check_fields(
        &mut self,
        series: usize,
        fields: &mut Vec<(Cow<'_, str>, DataPoint)>,
    ) -> Result<(), String> {
        // A repeated field keeps its last value, in the place of its first appearance.
        if fields.len() > 1 {
            let mut index = 0;
            while index < fields.len() {
                if let Some(later) = (index + 1..fields.len())
                    .rev()
                    .find(|later| fields[*later].0 == fields[index].0)
                {
                    let value = fields.remove(later).1;
                    fields[index].1 = value;
                    continue;
                }
                index += 1;
            }
        }
        if fields.len() > self.limits.max_fields_per_line {
            refused("fields_per_line");
            return Err(format!(
                "the line has {} fields; the limit is {} (max_fields_per_line)",
                fields.len(),
                self.limits.max_fields_per_line
            ));
        }
        let key = &self.batch.series[series].key;
        for (name, value) in fields.iter() {
            self.limits.name("field key", name)?;
            if name == RESERVED_COLUMN {
                return Err(format!(
                    "field key `{RESERVED_COLUMN}` is reserved for the timestamp column"
                ));
            }
            if key.tags.iter().any(|(tag, _)| tag == name) {
                return Err(format!(
                    "`{name}` is both a tag key and a field key; a column can be only one"
                ));
            }
            match value {
                DataPoint::F64(number) if !number.is_finite() => {
                    return Err(format!(
                        "field `{name}` is {number}: NaN and infinite floats are not accepted"
                    ));
                }
                DataPoint::Str(text) if text.len() > self.limits.max_string_field_bytes => {
                    refused("string_field_bytes");
                    return Err(format!(
                        "field `{name}` is a string of {} bytes; the limit is {} \
                         (max_string_field_bytes)",
                        text.len(),
                        self.limits.max_string_field_bytes
                    ));
                }
                _ => {}
            }
        }
        let known = match self.field_types.get_mut(key.measurement.as_str()) {
            Some(known) => known,
            None => self.field_types.entry(key.measurement.clone()).or_default(),
        };
        let mut new_fields = 0;
        for (name, value) in fields.iter() {
            let kind = crate::writer::field_type(value);
            match known.get(name.as_ref()) {
                Some(existing) if *existing != kind => {
                    return Err(format!(
                        "field type conflict: field `{name}` of measurement `{}` is {} earlier \
                         in this request, got {}",
                        key.measurement,
                        existing.name(),
                        kind.name()
                    ));
                }
                Some(_) => {}
                None => new_fields += 1,
            }
        }
        let columns = known.len() + new_fields + key.tags.len();
        if new_fields > 0 && columns > self.limits.max_columns_per_measurement {
            refused("columns_per_measurement");
            return Err(format!(
                "measurement `{}` would have {columns} columns; the limit is {} \
                 (max_columns_per_measurement)",
                key.measurement, self.limits.max_columns_per_measurement
            ));
        }
        for (name, value) in fields.iter() {
            if !known.contains_key(name.as_ref()) {
                known.insert(name.to_string(), crate::writer::field_type(value));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod differential;
#[cfg(test)]
mod tests;
