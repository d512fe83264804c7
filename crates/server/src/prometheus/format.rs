//! The Prometheus HTTP API's wire details: form parameters (GET query string or POST form,
//! repeated `match[]`), times (RFC 3339 or Unix seconds), durations (`5m` or seconds), and the
//! JSON of query results (values as strings, `NaN`/`+Inf`/`-Inf` spelled as Prometheus does).

use std::fmt::Write as _;

use tidemark_query::promql::{Labels, QueryValue};

use crate::api_error::{ApiError, Dialect};

/// A request's parameters in order, query string first, then the form body.
#[derive(Debug, Default)]
pub struct PromParams {
    pairs: Vec<(String, String)>,
}

impl PromParams {
    /// Collects parameters from a raw query string and a form body.
    pub fn new(query: Option<&str>, form: &[u8]) -> Self {
        let mut pairs: Vec<(String, String)> = Vec::new();
        if let Some(query) = query {
            pairs.extend(form_urlencoded::parse(query.as_bytes()).into_owned());
        }
        pairs.extend(form_urlencoded::parse(form).into_owned());
        Self { pairs }
    }

    /// The first non-empty value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, value)| key == name && !value.is_empty())
            .map(|(_, value)| value.as_str())
    }

    /// Every value of a repeated parameter (`match[]`).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .collect()
    }
}

/// A `bad_data` error in the Prometheus envelope.
pub fn bad_data(message: impl Into<String>) -> ApiError {
    ApiError::invalid(message).dialect(Dialect::Prometheus)
}

/// Parses a time: RFC 3339 or Unix seconds with a fraction; milliseconds since the epoch.
pub fn parse_time(name: &str, text: &str) -> Result<i64, ApiError> {
    if let Ok(seconds) = text.parse::<f64>()
        && seconds.is_finite()
    {
        return Ok((seconds * 1000.0).round() as i64);
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|time| time.timestamp_millis())
        .map_err(|_| {
            bad_data(format!(
                "invalid parameter {name:?}: cannot parse {text:?} to a valid timestamp"
            ))
        })
}

/// Parses a duration: Prometheus units (`1h30m`, `5m`, `100ms`, `1d`, `1w`, `1y`) or seconds
/// as a float; milliseconds.
pub fn parse_duration(name: &str, text: &str) -> Result<i64, ApiError> {
    let invalid = || {
        bad_data(format!(
            "invalid parameter {name:?}: cannot parse {text:?} to a valid duration"
        ))
    };
    if let Ok(seconds) = text.parse::<f64>() {
        if !seconds.is_finite() || seconds.abs() > (i64::MAX / 1000) as f64 {
            return Err(invalid());
        }
        return Ok((seconds * 1000.0).round() as i64);
    }
    let mut total: i64 = 0;
    let mut rest = text;
    if rest.is_empty() {
        return Err(invalid());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(invalid)?;
        if digits == 0 {
            return Err(invalid());
        }
        let number: i64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit_ms: i64 = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            _ => return Err(invalid()),
        };
        rest = &rest[unit_len..];
        total = number
            .checked_mul(unit_ms)
            .and_then(|part| total.checked_add(part))
            .ok_or_else(invalid)?;
    }
    Ok(total)
}

/// A float as Prometheus writes sample values.
fn push_value(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("\"NaN\"");
    } else if value == f64::INFINITY {
        out.push_str("\"+Inf\"");
    } else if value == f64::NEG_INFINITY {
        out.push_str("\"-Inf\"");
    } else {
        let _ = write!(out, "\"{value}\"");
    }
}

/// A millisecond time as Unix seconds.
fn push_time(out: &mut String, millis: i64) {
    let seconds = millis.div_euclid(1000);
    let fraction = millis.rem_euclid(1000);
    if fraction == 0 {
        let _ = write!(out, "{seconds}");
    } else {
        let fraction = format!("{fraction:03}");
        let _ = write!(out, "{seconds}.{}", fraction.trim_end_matches('0'));
    }
}

fn push_string(out: &mut String, text: &str) {
    out.push_str(&serde_json::Value::String(text.to_owned()).to_string());
}

fn push_labels(out: &mut String, labels: &Labels) {
    out.push('{');
    for (index, (name, value)) in labels.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        push_string(out, name);
        out.push(':');
        push_string(out, value);
    }
    out.push('}');
}

fn push_point(out: &mut String, millis: i64, value: f64) {
    out.push('[');
    push_time(out, millis);
    out.push(',');
    push_value(out, value);
    out.push(']');
}

/// The `data` object of a query response.
pub fn query_data(value: &QueryValue) -> String {
    let mut out = String::with_capacity(256);
    match value {
        QueryValue::Scalar(millis, number) => {
            out.push_str("{\"resultType\":\"scalar\",\"result\":");
            push_point(&mut out, *millis, *number);
        }
        QueryValue::String(millis, text) => {
            out.push_str("{\"resultType\":\"string\",\"result\":[");
            push_time(&mut out, *millis);
            out.push(',');
            push_string(&mut out, text);
            out.push(']');
        }
        QueryValue::Vector(samples) => {
            out.push_str("{\"resultType\":\"vector\",\"result\":[");
            for (index, sample) in samples.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                push_labels(&mut out, &sample.labels);
                out.push_str(",\"value\":");
                push_point(&mut out, sample.time_ms, sample.value);
                out.push('}');
            }
            out.push(']');
        }
        QueryValue::Matrix(series) => {
            out.push_str("{\"resultType\":\"matrix\",\"result\":[");
            for (index, one) in series.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                push_labels(&mut out, &one.labels);
                out.push_str(",\"values\":[");
                for (at, (millis, number)) in one.samples.iter().enumerate() {
                    if at > 0 {
                        out.push(',');
                    }
                    push_point(&mut out, *millis, *number);
                }
                out.push_str("]}");
            }
            out.push(']');
        }
    }
    out.push('}');
    out
}

/// A list of label sets as `/api/v1/series` returns it.
pub fn series_data(sets: &[Labels]) -> String {
    let mut out = String::from("[");
    for (index, labels) in sets.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        push_labels(&mut out, labels);
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidemark_query::promql::InstantSample;

    #[test]
    fn times_and_durations_parse_like_prometheus() {
        assert_eq!(
            parse_time("time", "1700000000.5").unwrap(),
            1_700_000_000_500
        );
        assert_eq!(
            parse_time("time", "2023-11-14T22:13:20.25Z").unwrap(),
            1_700_000_000_250
        );
        assert!(parse_time("time", "yesterday").is_err());
        assert_eq!(parse_duration("step", "15").unwrap(), 15_000);
        assert_eq!(parse_duration("step", "0.5").unwrap(), 500);
        assert_eq!(parse_duration("step", "1h30m").unwrap(), 5_400_000);
        assert_eq!(parse_duration("step", "100ms").unwrap(), 100);
        for bad in ["", "5x", "m", "1.5m", "NaN"] {
            assert!(parse_duration("step", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn results_render_as_prometheus_json() {
        let vector = QueryValue::Vector(vec![InstantSample {
            labels: vec![
                ("__name__".into(), "up".into()),
                ("job".into(), "a\"b".into()),
            ],
            time_ms: 1_500,
            value: f64::NAN,
        }]);
        assert_eq!(
            query_data(&vector),
            r#"{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a\"b"},"value":[1.5,"NaN"]}]}"#
        );
        assert_eq!(
            query_data(&QueryValue::Scalar(2_000, f64::NEG_INFINITY)),
            r#"{"resultType":"scalar","result":[2,"-Inf"]}"#
        );
        let parsed: serde_json::Value =
            serde_json::from_str(&query_data(&QueryValue::Matrix(vec![
                tidemark_query::promql::Series {
                    labels: Vec::new(),
                    samples: vec![(1_010, 0.1), (2_000, 1e21)],
                },
            ])))
            .unwrap();
        assert_eq!(
            parsed["result"][0]["values"],
            serde_json::json!([[1.01, "0.1"], [2, "1000000000000000000000"]])
        );
    }
}
