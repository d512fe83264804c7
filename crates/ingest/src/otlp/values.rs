//! Attribute values as label values, written the way Prometheus's receiver writes them (it calls
//! pdata's `Value.AsString`): numbers as ECMAScript-style decimals, bytes as base64, arrays and
//! kvlists as JSON with sorted keys and Go's `encoding/json` escaping, so a label value from
//! Tidemark matches the one Prometheus stores for the same attribute.

use std::borrow::Cow;
use std::fmt::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::proto::{AnyValue, KeyValue, any_value::Value};

/// The label value of an attribute value; the empty value is `""` (no label).
pub(crate) fn value_string(value: Option<&AnyValue>) -> Cow<'_, str> {
    match value.and_then(|value| value.value.as_ref()) {
        None => Cow::Borrowed(""),
        Some(Value::StringValue(text)) => Cow::Borrowed(text),
        Some(Value::BoolValue(flag)) => Cow::Borrowed(if *flag { "true" } else { "false" }),
        Some(Value::IntValue(number)) => Cow::Owned(number.to_string()),
        Some(Value::DoubleValue(number)) => Cow::Owned(es_number(*number).unwrap_or_else(|| {
            // pdata's wording, kept so the label value is the same as in Prometheus.
            format!(
                "json: unsupported value: {}",
                super::names::format_float(*number)
            )
        })),
        Some(Value::BytesValue(bytes)) => Cow::Owned(BASE64.encode(bytes)),
        Some(nested @ (Value::ArrayValue(_) | Value::KvlistValue(_))) => {
            let mut out = String::new();
            // Go's `json.Marshal` refuses NaN and infinities and pdata then returns "".
            match write_json(&mut out, Some(nested)) {
                Ok(()) => Cow::Owned(out),
                Err(()) => Cow::Borrowed(""),
            }
        }
    }
}

/// A finite double the way `encoding/json` (and ECMAScript) writes it: positional between 1e-6
/// and 1e21, exponent form (`1e+21`, `1.5e-7`) outside; `None` for NaN and infinities.
fn es_number(value: f64) -> Option<String> {
    if !value.is_finite() {
        return None;
    }
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-6..1e21).contains(&magnitude) {
        // Rust writes `1e21` and `1.5e-7`; Go writes `1e+21` and `1.5e-07`, then trims the
        // exponent's leading zero, which leaves the same digits as Rust plus the `+`.
        let text = format!("{value:e}");
        Some(match text.split_once('e') {
            Some((mantissa, exponent)) if !exponent.starts_with('-') => {
                format!("{mantissa}e+{exponent}")
            }
            _ => text,
        })
    } else {
        Some(format!("{value}"))
    }
}

fn write_json(out: &mut String, value: Option<&Value>) -> Result<(), ()> {
    match value {
        None => out.push_str("null"),
        Some(Value::StringValue(text)) => write_json_string(out, text),
        Some(Value::BoolValue(flag)) => out.push_str(if *flag { "true" } else { "false" }),
        Some(Value::IntValue(number)) => {
            let _ = write!(out, "{number}");
        }
        Some(Value::DoubleValue(number)) => out.push_str(&es_number(*number).ok_or(())?),
        Some(Value::BytesValue(bytes)) => write_json_string(out, &BASE64.encode(bytes)),
        Some(Value::ArrayValue(array)) => {
            out.push('[');
            for (index, element) in array.values.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_json(out, element.value.as_ref())?;
            }
            out.push(']');
        }
        Some(Value::KvlistValue(list)) => {
            // Go marshals a map: keys sorted, a repeated key keeps its last value.
            let mut entries: Vec<&KeyValue> = list.values.iter().collect();
            entries.sort_by(|a, b| a.key.cmp(&b.key));
            let mut unique: Vec<&KeyValue> = Vec::with_capacity(entries.len());
            for entry in entries {
                match unique.last_mut() {
                    Some(last) if last.key == entry.key => *last = entry,
                    _ => unique.push(entry),
                }
            }
            out.push('{');
            for (index, entry) in unique.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_json_string(out, &entry.key);
                out.push(':');
                write_json(
                    out,
                    entry.value.as_ref().and_then(|value| value.value.as_ref()),
                )?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// A JSON string with `encoding/json`'s escaping, HTML-safe characters included.
fn write_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
