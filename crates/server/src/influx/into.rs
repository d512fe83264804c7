//! `SELECT ... INTO`: the SELECT's answer written back as points, through the same parser and
//! group-commit writer as line protocol, so the written points are durable, deduplicated and
//! bounded like any write. Each answer series becomes points of the target measurement (or of
//! its own, for `:MEASUREMENT`), its GROUP BY tags their tags and its columns their fields.

use std::fmt::Write as _;

use tidemark_influxql::line::{escape_key, escape_measurement, quote_string_field};
use tidemark_ingest::WriteRequest;
use tidemark_ingest::lp::{Precision, parse_lines};
use tidemark_query::influxql::ast::{SelectStatement, Target};
use tidemark_query::influxql::{ResultSeries, Row, StatementResult, Value};
use tidemark_storage::KvDatabase;
use tidemark_storage::tsdb::now_nanos;

use crate::api_error::ApiError;
use crate::state::AppState;

/// The answer's points as line protocol for `target`.
pub fn line_protocol(series: &[ResultSeries], target: &Target) -> String {
    let mut out = String::new();
    for one in series {
        let measurement = target.measurement.as_deref().unwrap_or(&one.name);
        let mut prefix = escape_measurement(measurement);
        for (key, value) in one.tags.iter().filter(|(_, value)| !value.is_empty()) {
            let _ = write!(prefix, ",{}={}", escape_key(key), escape_key(value));
        }
        for row in &one.rows {
            let fields: Vec<String> = one
                .columns
                .iter()
                .skip(1)
                .zip(&row.values)
                .filter_map(|(column, value)| {
                    let value = match value {
                        Value::Null => return None,
                        Value::Float(v) if !v.is_finite() => return None,
                        Value::Float(v) => format!("{v:?}"),
                        Value::Integer(v) => format!("{v}i"),
                        Value::Unsigned(v) => format!("{v}u"),
                        Value::String(text) => quote_string_field(text),
                        Value::Boolean(v) => v.to_string(),
                    };
                    Some(format!("{}={value}", escape_key(column)))
                })
                .collect();
            if !fields.is_empty() {
                let _ = writeln!(out, "{prefix} {} {}", fields.join(","), row.time);
            }
        }
    }
    out
}

/// Runs `select` (whose INTO names `target`) on `database` and writes its answer to
/// `target_database`; answers InfluxDB's `result` series with the points written.
pub async fn select_into<D: KvDatabase>(
    state: &AppState<D>,
    select: &SelectStatement,
    target: &Target,
    target_database: &str,
    context: tidemark_query::influxql::StatementContext<'_>,
) -> StatementResult {
    let mut plain = select.clone();
    plain.target = None;
    let statement = tidemark_query::influxql::ast::Statement::Select(Box::new(plain));
    let answer = state.query.influxql_statement(&statement, context).await;
    if answer.error.is_some() {
        return answer;
    }
    match write(state, &answer.series, target, target_database).await {
        Ok(written) => StatementResult {
            series: vec![ResultSeries {
                name: "result".to_owned(),
                columns: vec!["time".to_owned(), "written".to_owned()],
                has_time: true,
                rows: vec![Row {
                    time: 0,
                    values: vec![Value::Integer(written as i64)],
                }],
                ..ResultSeries::default()
            }],
            error: None,
        },
        Err(error) => StatementResult::error(error.message),
    }
}

async fn write<D: KvDatabase>(
    state: &AppState<D>,
    series: &[ResultSeries],
    target: &Target,
    database: &str,
) -> Result<usize, ApiError> {
    let body = line_protocol(series, target);
    if body.is_empty() {
        return Ok(0);
    }
    let limits = state.writer.limits().clone();
    let batch = parse_lines(body.as_bytes(), Precision::Nanosecond, now_nanos(), &limits);
    if let Some(error) = batch.errors.first() {
        return Err(ApiError::invalid(format!(
            "SELECT INTO cannot write its answer: {}",
            error.message
        )));
    }
    let outcome = state
        .writer
        .write(WriteRequest {
            database: database.to_owned(),
            series: batch.series,
            idempotency_key: None,
        })
        .await?;
    if let Some(error) = outcome.rejected.first() {
        return Err(ApiError::invalid(format!(
            "SELECT INTO wrote {} points, then was refused: {}",
            outcome.written, error.message
        )));
    }
    Ok(outcome.written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_become_points_of_the_target() {
        let series = vec![ResultSeries {
            name: "cpu".to_owned(),
            tags: [
                ("host".to_owned(), "a b".to_owned()),
                ("empty".to_owned(), String::new()),
            ]
            .into_iter()
            .collect(),
            columns: vec![
                "time".into(),
                "mean".into(),
                "n".into(),
                "s".into(),
                "gone".into(),
            ],
            has_time: true,
            rows: vec![
                Row {
                    time: 60,
                    values: vec![
                        Value::Float(1.0),
                        Value::Integer(3),
                        Value::String("x\"y".into()),
                        Value::Null,
                    ],
                },
                Row {
                    time: 120,
                    values: vec![Value::Null, Value::Null, Value::Null, Value::Null],
                },
            ],
            partial: false,
            zone: None,
        }];
        let target = Target {
            database: None,
            retention_policy: None,
            measurement: Some("down sampled".to_owned()),
        };
        assert_eq!(
            line_protocol(&series, &target),
            "down\\ sampled,host=a\\ b mean=1.0,n=3i,s=\"x\\\"y\" 60\n"
        );
        let own = Target {
            measurement: None,
            ..target
        };
        assert!(line_protocol(&series, &own).starts_with("cpu,host=a\\ b "));
    }
}
