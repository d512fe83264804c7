//! A byte-level line protocol parser, written for speed and checked against the
//! `influxdb-line-protocol` crate (the oracle) by differential property tests (`tests.rs`).
//!
//! Why hand-written: profiling the write path put the crate's nom-based parser and its
//! character-by-character line splitter at about half of the server's CPU under TSBS load.
//! This parser makes one pass over the bytes of a line, allocates only the owned names and
//! values it returns, and unescapes only when a backslash is present.

use std::borrow::Cow;

use tidemark_storage::tsdb::DataPoint;

/// A parsed line before precision and series normalisation (the differential tests compare it).
#[cfg(test)]
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RawLine {
    pub(super) measurement: String,
    pub(super) tags: Vec<(String, String)>,
    pub(super) fields: Vec<(String, DataPoint)>,
    pub(super) timestamp: Option<i64>,
}

/// Splits a body into lines: `\n` ends a line except inside a quoted field value (the rule of the
/// Go reference's `scanLine`). Yields each line with its offset.
pub(super) fn split_lines(body: &str) -> impl Iterator<Item = &str> {
    let bytes = body.as_bytes();
    let mut start = 0;
    std::iter::from_fn(move || {
        if start > bytes.len() {
            return None;
        }
        let end = line_end(bytes, start);
        let line = &body[start..end];
        start = end + 1;
        Some(line)
    })
}

/// The index of the `\n` ending the line that starts at `start` (or the body's length).
fn line_end(bytes: &[u8], start: usize) -> usize {
    let Some(first_newline) = memchr(b'\n', &bytes[start..]).map(|at| start + at) else {
        return bytes.len();
    };
    // Fast path: no quote before the newline, so it cannot be inside a string field.
    if memchr(b'"', &bytes[start..first_newline]).is_none() {
        return first_newline;
    }
    // Slow path: track the field section and quotes like `scanLine` does.
    let (mut in_fields, mut quoted, mut escaped) = (false, false, false);
    let (mut equals, mut commas) = (0usize, 0usize);
    for (offset, byte) in bytes[start..].iter().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match byte {
            b'\\' => escaped = true,
            b' ' => in_fields = true,
            b'=' if in_fields && !quoted => equals += 1,
            b',' if in_fields && !quoted => commas += 1,
            b'"' if in_fields && equals > commas => quoted = !quoted,
            b'\n' if !quoted => return start + offset,
            _ => {}
        }
    }
    bytes.len()
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|byte| *byte == needle)
}

/// Reads an escaped identifier up to one of `stops` (unescaped); returns it and the rest.
/// A backslash escapes only the characters in `escapable`; before anything else it is literal.
fn identifier<'a>(input: &'a str, stops: &[u8], escapable: &[u8]) -> (Cow<'a, str>, &'a str) {
    let bytes = input.as_bytes();
    let mut index = 0;
    let mut has_escape = false;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte == b'\\' && index + 1 < bytes.len() {
            let next = bytes[index + 1];
            if escapable.contains(&next) {
                has_escape = true;
                index += 2;
                continue;
            }
            // Any other ASCII character after a backslash is literal, and never a delimiter (a
            // tab included); the backslash stays. Non-ASCII characters are never delimiters.
            if next.is_ascii() {
                index += 2;
                continue;
            }
        }
        if stops.contains(&byte) {
            break;
        }
        index += 1;
    }
    let raw = &input[..index];
    let text = if has_escape {
        Cow::Owned(unescape(raw, escapable))
    } else {
        Cow::Borrowed(raw)
    };
    (text, &input[index..])
}

fn unescape(raw: &str, escapable: &[u8]) -> String {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut index = 0;
    let mut run_start = 0;
    while index < bytes.len() {
        if bytes[index] == b'\\' && index + 1 < bytes.len() && escapable.contains(&bytes[index + 1])
        {
            out.push_str(&raw[run_start..index]);
            run_start = index + 1;
            index += 2;
            continue;
        }
        index += 1;
    }
    out.push_str(&raw[run_start..]);
    out
}

const MEASUREMENT_ESCAPES: &[u8] = b", \\";
const KEY_ESCAPES: &[u8] = b",= \\";

/// The shape of a line, quoted by errors about its parts.
const LINE_SHAPE: &str = "measurement[,tag=value...] field=value[,field=value...] [timestamp]";
/// The forms of a field value, quoted by errors about values.
const VALUE_FORMS: &str = "a float (1.5), an integer (1i), an unsigned integer (1u), true or \
                           false, or a double-quoted string";

/// Refuses a name or tag value ending in a backslash that escapes nothing.
fn check_backslash(what: &str, text: &str) -> Result<(), String> {
    if text.ends_with('\\') {
        return Err(format!(
            "{what} `{text}` ends with a backslash that escapes nothing (write `\\\\` for a \
             backslash)"
        ));
    }
    Ok(())
}

/// Where the series section of a line (measurement and tags) ends: at the first space or tab
/// that no backslash escapes (the same escape rule as [`identifier`]).
fn series_end(line: &str) -> usize {
    let bytes = line.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'\\' if index + 1 < bytes.len() && bytes[index + 1].is_ascii() => index += 2,
            b' ' | b'\t' => return index,
            _ => index += 1,
        }
    }
    bytes.len()
}

/// Splits a line (no comment, no leading whitespace) into its series section and the rest
/// (fields and timestamp, with their leading space).
pub(super) fn split_series(line: &str) -> (&str, &str) {
    line.split_at(series_end(line))
}

/// Parses a series section: the measurement and its tags, unescaped, in line order.
pub(super) fn parse_series(series: &str) -> Result<(String, Vec<(String, String)>), String> {
    let (measurement, mut rest) = identifier(series, b", \t", MEASUREMENT_ESCAPES);
    if measurement.is_empty() {
        return Err(format!("missing measurement: a line is `{LINE_SHAPE}`"));
    }
    check_backslash("measurement", &measurement)?;
    let mut tags: Vec<(String, String)> = Vec::new();
    while let Some(after_comma) = rest.strip_prefix(',') {
        // Keys end only at `=` (or a space); an unescaped comma belongs to the key.
        let (key, after_key) = identifier(after_comma, b"= \t", KEY_ESCAPES);
        if key.is_empty() {
            return Err("missing tag key after `,` (expected `key=value`)".into());
        }
        let Some(after_equals) = after_key.strip_prefix('=') else {
            return Err(format!("tag `{key}` has no value (expected `{key}=value`)"));
        };
        let (value, after_value) = identifier(after_equals, b", \t", KEY_ESCAPES);
        if value.is_empty() {
            return Err(format!(
                "tag `{key}` has an empty value (expected `{key}=value`; leave out a tag without \
                 a value)"
            ));
        }
        check_backslash("tag key", &key)?;
        check_backslash("tag value", &value)?;
        if tags.iter().any(|(existing, _)| existing.as_str() == key) {
            return Err(format!("tag `{key}` appears twice"));
        }
        tags.push((key.into_owned(), value.into_owned()));
        rest = after_value;
    }
    if !rest.is_empty() {
        return Err(format!(
            "unexpected `{rest}` after the tags (expected a space, then the fields)"
        ));
    }
    Ok((measurement.into_owned(), tags))
}

/// Parses what follows the series section: the fields (appended to `fields`, names borrowed
/// from the line unless they had escapes) and the optional timestamp.
pub(super) fn parse_fields_and_time<'a>(
    rest: &'a str,
    fields: &mut Vec<(Cow<'a, str>, DataPoint)>,
) -> Result<Option<i64>, String> {
    let rest = rest.trim_start_matches(' ');
    if rest.is_empty() {
        return Err(format!(
            "missing fields: a line is `{LINE_SHAPE}`, with at least one field"
        ));
    }
    let rest = parse_fields(rest, fields)?;
    let rest = rest.trim_start_matches(' ');
    if rest.is_empty() {
        return Ok(None);
    }
    let digits = rest.trim_end_matches(' ');
    let valid = digits.strip_prefix('-').unwrap_or(digits);
    if valid.is_empty() || !valid.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(format!(
            "invalid timestamp `{digits}`: expected an integer (nanoseconds unless the request \
             gives another precision), the last item on the line"
        ));
    }
    Ok(Some(digits.parse::<i64>().map_err(|_| {
        format!("timestamp `{digits}` is out of range (a 64-bit integer)")
    })?))
}

/// Parses one whole line into owned parts (the differential tests' entry point).
#[cfg(test)]
pub(super) fn parse_line(line: &str) -> Result<RawLine, String> {
    let (series, rest) = split_series(line);
    let (measurement, tags) = parse_series(series)?;
    let mut fields = Vec::new();
    let timestamp = parse_fields_and_time(rest, &mut fields)?;
    Ok(RawLine {
        measurement,
        tags,
        fields: fields
            .into_iter()
            .map(|(name, value)| (name.into_owned(), value))
            .collect(),
        timestamp,
    })
}

fn parse_fields<'a>(
    mut rest: &'a str,
    fields: &mut Vec<(Cow<'a, str>, DataPoint)>,
) -> Result<&'a str, String> {
    let first = fields.len();
    loop {
        // A field key ends only at `=` (or a space): an unescaped comma is part of the key, as in
        // the reference parsers.
        let (key, after_key) = identifier(rest, b"= \t", KEY_ESCAPES);
        if key.is_empty() {
            return Err(if fields.len() == first {
                format!("missing field key: a line is `{LINE_SHAPE}`")
            } else {
                "missing field after `,` (expected `key=value`)".into()
            });
        }
        let Some(after_equals) = after_key.strip_prefix('=') else {
            return Err(format!(
                "field `{key}` has no value (expected `{key}=value`, the value being {VALUE_FORMS})"
            ));
        };
        check_backslash("field key", &key)?;
        let (value, after_value) = parse_value(&key, after_equals)?;
        fields.push((key, value));
        match after_value.strip_prefix(',') {
            Some(next) => rest = next,
            None if after_value.is_empty() || after_value.starts_with(' ') => {
                return Ok(after_value);
            }
            None => {
                let name = &fields[fields.len() - 1].0;
                return Err(format!(
                    "unexpected `{after_value}` after the value of field `{name}` (expected `,` \
                     and another field, or a space and the timestamp)"
                ));
            }
        }
    }
}

fn parse_value<'a>(key: &str, input: &'a str) -> Result<(DataPoint, &'a str), String> {
    if let Some(body) = input.strip_prefix('"') {
        return parse_string(key, body);
    }
    let end = input.find([',', ' ', '\t']).unwrap_or(input.len());
    let (token, rest) = input.split_at(end);
    let invalid = || {
        if token.is_empty() {
            format!("missing field value for `{key}`: expected {VALUE_FORMS}")
        } else {
            format!("invalid value `{token}` for field `{key}`: expected {VALUE_FORMS}")
        }
    };
    let out_of_range =
        |kind: &str| format!("value `{token}` of field `{key}` is out of range for {kind}");
    let value = match token {
        "t" | "T" | "true" | "True" | "TRUE" => DataPoint::Bool(true),
        "f" | "F" | "false" | "False" | "FALSE" => DataPoint::Bool(false),
        _ if token.ends_with('i') => {
            let digits = &token[..token.len() - 1];
            if !is_integer(digits) {
                return Err(invalid());
            }
            DataPoint::I64(
                digits
                    .parse()
                    .map_err(|_| out_of_range("a 64-bit integer"))?,
            )
        }
        _ if token.ends_with('u') => {
            let digits = &token[..token.len() - 1];
            if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
                return Err(invalid());
            }
            DataPoint::U64(
                digits
                    .parse()
                    .map_err(|_| out_of_range("a 64-bit unsigned integer"))?,
            )
        }
        _ if is_float(token) => DataPoint::F64(token.parse().map_err(|_| invalid())?),
        _ => return Err(invalid()),
    };
    Ok((value, rest))
}

fn is_integer(digits: &str) -> bool {
    let unsigned = digits.strip_prefix('-').unwrap_or(digits);
    !unsigned.is_empty() && unsigned.bytes().all(|byte| byte.is_ascii_digit())
}

/// Line protocol floats: `[-]digits[.digits][(e|E)[+-]digits]`, also `.5` and `5.`.
fn is_float(token: &str) -> bool {
    let body = token.strip_prefix('-').unwrap_or(token);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    let mantissa_ok =
        digits(whole) && digits(fraction) && !(whole.is_empty() && fraction.is_empty());
    let exponent_ok = exponent.is_none_or(|exponent| {
        let unsigned = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        !unsigned.is_empty() && digits(unsigned)
    });
    mantissa_ok && exponent_ok
}

/// A quoted string after its opening quote: `\"` and `\\` are escapes; other backslashes stay.
fn parse_string<'a>(key: &str, body: &'a str) -> Result<(DataPoint, &'a str), String> {
    let bytes = body.as_bytes();
    let mut index = 0;
    let mut has_escape = false;
    while index < bytes.len() {
        match bytes[index] {
            b'\\' if index + 1 < bytes.len() && matches!(bytes[index + 1], b'"' | b'\\') => {
                has_escape = true;
                index += 2;
            }
            b'"' => {
                let raw = &body[..index];
                let text = if has_escape {
                    unescape(raw, b"\"\\")
                } else {
                    raw.to_owned()
                };
                return Ok((DataPoint::Str(text), &body[index + 1..]));
            }
            _ => index += 1,
        }
    }
    Err(format!(
        "the string value of field `{key}` has no closing `\"` (write `\\\"` for a quote inside it)"
    ))
}
