//! The SHOW statements: measurements, tag keys and values, field keys, series, retention
//! policies and the cardinality statements, answered exactly. Keys and field types come from
//! the catalog; tag values and series from the stored series of each measurement (one
//! `SELECT DISTINCT` over its tag columns, so a WHERE clause, time included, applies).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use futures::TryStreamExt;
use tidemark_influxql::ast::{
    CardinalityKind, Expr, MeasurementName, ShowCardinalityStatement, Source, TagKeyFilter,
};
use tidemark_storage::KvDatabase;
use tidemark_storage::tsdb::{FieldType, MeasurementSchema};

use tidemark_influxql::line::{escape_key, escape_measurement};

use super::fetch::{sql_filters, sql_ident};
use super::select::source_measurements;
use super::value::{ResultSeries, Row, Value};
use crate::{QueryEngine, QueryKind, QueryResult};

type Catalog = BTreeMap<String, MeasurementSchema>;

/// A series of SHOW output: no time column, one row per entry.
pub(crate) fn listing(name: &str, columns: &[&str], rows: Vec<Vec<Value>>) -> ResultSeries {
    ResultSeries {
        name: name.to_owned(),
        tags: BTreeMap::new(),
        columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        has_time: false,
        rows: rows
            .into_iter()
            .map(|values| Row { time: 0, values })
            .collect(),
        partial: false,
        zone: None,
    }
}

fn strings(values: impl IntoIterator<Item = String>) -> Vec<Vec<Value>> {
    values.into_iter().map(|v| vec![Value::String(v)]).collect()
}

/// Applies OFFSET and LIMIT (0 = none) to a list.
pub(crate) fn page<T>(items: Vec<T>, limit: Option<u64>, offset: Option<u64>) -> Vec<T> {
    let items = items.into_iter().skip(offset.unwrap_or(0) as usize);
    match limit {
        Some(limit) if limit > 0 => items.take(limit as usize).collect(),
        _ => items.collect(),
    }
}

/// The measurements of `sources`, or every measurement when there are none.
fn measurements_of<'a>(
    sources: &[Source],
    catalog: &'a Catalog,
    database: &str,
) -> QueryResult<Vec<&'a str>> {
    if sources.is_empty() {
        return Ok(catalog.keys().map(String::as_str).collect());
    }
    source_measurements(sources, catalog, database)
}

/// Whether a tag key passes a `WITH KEY` filter.
pub(crate) fn key_matches(filter: &TagKeyFilter, key: &str) -> bool {
    match filter {
        TagKeyFilter::Eq(name) => name == key,
        TagKeyFilter::NotEq(name) => name != key,
        TagKeyFilter::EqRegex(regex) => regex.regex().is_match(key),
        TagKeyFilter::NotEqRegex(regex) => !regex.regex().is_match(key),
        TagKeyFilter::In(names) => names.iter().any(|name| name == key),
    }
}

pub(crate) fn field_type_name(kind: FieldType) -> &'static str {
    match kind {
        FieldType::Float => "float",
        FieldType::Integer => "integer",
        FieldType::UInteger => "unsigned",
        FieldType::String => "string",
        FieldType::Boolean => "boolean",
    }
}

/// ` WHERE ...` for a SHOW statement's condition (time comparisons included), or nothing.
fn where_sql(
    schema: &MeasurementSchema,
    condition: Option<&Expr>,
    now: i64,
) -> QueryResult<String> {
    let Some(condition) = condition else {
        return Ok(String::new());
    };
    let (rest, range) = condition
        .split_time_condition(now)
        .map_err(|error| crate::QueryError::Invalid(error.to_string()))?;
    let filters = sql_filters(schema, rest.as_ref(), range)?;
    Ok(if filters.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", filters.join(" AND "))
    })
}

impl<D: KvDatabase> QueryEngine<D> {
    /// The distinct combinations of `tags` among `measurement`'s stored points that pass
    /// `condition` (time comparisons included); missing tags as `None`.
    pub(crate) async fn influxql_tag_sets(
        &self,
        database: &str,
        measurement: &str,
        schema: &MeasurementSchema,
        tags: &[String],
        condition: Option<&Expr>,
        now: i64,
    ) -> QueryResult<BTreeSet<Vec<Option<String>>>> {
        let mut sets = BTreeSet::new();
        if tags.is_empty() {
            return Ok(sets);
        }
        let mut sql = format!(
            "SELECT DISTINCT {} FROM {}",
            tags.iter()
                .map(|t| sql_ident(t))
                .collect::<Vec<_>>()
                .join(", "),
            sql_ident(measurement)
        );
        sql.push_str(&where_sql(schema, condition, now)?);
        let mut stream = self
            .query(Some(database), &sql, QueryKind::Http, None)
            .await?;
        let max_series = self.limits().max_series;
        while let Some(batch) = stream.try_next().await? {
            if (sets.len() + batch.num_rows()) as u64 > max_series {
                return Err(crate::QueryError::ResourcesExhausted(format!(
                    "more than {max_series} tag combinations in {measurement}; narrow the \
                     statement with FROM or WHERE"
                )));
            }
            let columns = batch
                .columns()
                .iter()
                .map(|column| cast(column, &DataType::Utf8))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|error| crate::QueryError::Internal(error.to_string()))?;
            for row in 0..batch.num_rows() {
                sets.insert(
                    columns
                        .iter()
                        .map(|column| {
                            let column = column.as_string::<i32>();
                            (!column.is_null(row)).then(|| column.value(row).to_owned())
                        })
                        .collect(),
                );
            }
        }
        Ok(sets)
    }

    pub(crate) async fn show_measurements(
        &self,
        database: &str,
        catalog: &Catalog,
        statement: &tidemark_influxql::ast::ShowMeasurementsStatement,
        now: i64,
    ) -> QueryResult<Vec<ResultSeries>> {
        let mut names = Vec::new();
        for (name, schema) in catalog {
            let named = match statement.source.as_ref().map(|m| &m.name) {
                Some(MeasurementName::Name(wanted)) => wanted == name,
                Some(MeasurementName::Regex(regex)) => regex.regex().is_match(name),
                None => true,
            };
            if !named {
                continue;
            }
            if let Some(condition) = &statement.condition {
                let tags: Vec<String> = schema.tags.iter().cloned().collect();
                let found = if tags.is_empty() {
                    BTreeSet::new()
                } else {
                    self.influxql_tag_sets(database, name, schema, &tags, Some(condition), now)
                        .await?
                };
                if found.is_empty() {
                    continue;
                }
            }
            names.push(name.clone());
        }
        let names = page(names, statement.limit, statement.offset);
        if names.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![listing("measurements", &["name"], strings(names))])
    }

    pub(crate) fn show_tag_keys(
        &self,
        catalog: &Catalog,
        database: &str,
        statement: &tidemark_influxql::ast::ShowTagKeysStatement,
    ) -> QueryResult<Vec<ResultSeries>> {
        let mut out = Vec::new();
        for name in measurements_of(&statement.sources, catalog, database)? {
            let keys: Vec<String> = catalog[name]
                .tags
                .iter()
                .filter(|key| statement.key.as_ref().is_none_or(|f| key_matches(f, key)))
                .cloned()
                .collect();
            let keys = page(keys, statement.limit, statement.offset);
            if !keys.is_empty() {
                out.push(listing(name, &["tagKey"], strings(keys)));
            }
        }
        Ok(page(out, statement.slimit, statement.soffset))
    }

    pub(crate) async fn show_tag_values(
        &self,
        database: &str,
        catalog: &Catalog,
        statement: &tidemark_influxql::ast::ShowTagValuesStatement,
        now: i64,
    ) -> QueryResult<Vec<ResultSeries>> {
        let mut out = Vec::new();
        for name in measurements_of(&statement.sources, catalog, database)? {
            let schema = &catalog[name];
            let mut pairs = BTreeSet::new();
            for key in schema
                .tags
                .iter()
                .filter(|k| key_matches(&statement.key, k))
            {
                let sets = self
                    .influxql_tag_sets(
                        database,
                        name,
                        schema,
                        std::slice::from_ref(key),
                        statement.condition.as_ref(),
                        now,
                    )
                    .await?;
                for value in sets.into_iter().filter_map(|mut set| set.pop().flatten()) {
                    pairs.insert((key.clone(), value));
                }
            }
            let rows: Vec<Vec<Value>> = pairs
                .into_iter()
                .map(|(key, value)| vec![Value::String(key), Value::String(value)])
                .collect();
            let rows = page(rows, statement.limit, statement.offset);
            if !rows.is_empty() {
                out.push(listing(name, &["key", "value"], rows));
            }
        }
        Ok(out)
    }

    pub(crate) fn show_field_keys(
        &self,
        catalog: &Catalog,
        database: &str,
        statement: &tidemark_influxql::ast::ShowFieldKeysStatement,
    ) -> QueryResult<Vec<ResultSeries>> {
        let mut out = Vec::new();
        for name in measurements_of(&statement.sources, catalog, database)? {
            let rows: Vec<Vec<Value>> = catalog[name]
                .fields
                .iter()
                .map(|(field, kind)| {
                    vec![
                        Value::String(field.clone()),
                        Value::String(field_type_name(*kind).to_owned()),
                    ]
                })
                .collect();
            let rows = page(rows, statement.limit, statement.offset);
            if !rows.is_empty() {
                out.push(listing(name, &["fieldKey", "fieldType"], rows));
            }
        }
        Ok(out)
    }

    /// Every series key (`m,tag=v,...`) of the measurements, sorted.
    async fn series_keys(
        &self,
        database: &str,
        catalog: &Catalog,
        measurements: &[&str],
        condition: Option<&Expr>,
        now: i64,
    ) -> QueryResult<BTreeMap<String, Vec<String>>> {
        let mut keys = BTreeMap::new();
        for name in measurements {
            let schema = &catalog[*name];
            let tags: Vec<String> = schema.tags.iter().cloned().collect();
            let mut found = Vec::new();
            if tags.is_empty() {
                // A measurement without tags has one series if it has any point.
                let sets = self
                    .influxql_any_point(database, name, schema, condition, now)
                    .await?;
                if sets {
                    found.push(escape_measurement(name));
                }
            } else {
                for set in self
                    .influxql_tag_sets(database, name, schema, &tags, condition, now)
                    .await?
                {
                    let mut key = escape_measurement(name);
                    for (tag, value) in tags.iter().zip(set) {
                        if let Some(value) = value.filter(|v| !v.is_empty()) {
                            let _ = write!(key, ",{}={}", escape_key(tag), escape_key(&value));
                        }
                    }
                    found.push(key);
                }
            }
            found.sort();
            keys.insert((*name).to_owned(), found);
        }
        Ok(keys)
    }

    async fn influxql_any_point(
        &self,
        database: &str,
        measurement: &str,
        schema: &MeasurementSchema,
        condition: Option<&Expr>,
        now: i64,
    ) -> QueryResult<bool> {
        let mut sql = format!("SELECT 1 FROM {}", sql_ident(measurement));
        sql.push_str(&where_sql(schema, condition, now)?);
        sql.push_str(" LIMIT 1");
        let batches: Vec<_> = self
            .query(Some(database), &sql, QueryKind::Http, None)
            .await?
            .try_collect()
            .await?;
        Ok(batches.iter().any(|b| b.num_rows() > 0))
    }

    pub(crate) async fn show_series(
        &self,
        database: &str,
        catalog: &Catalog,
        statement: &tidemark_influxql::ast::ShowSeriesStatement,
        now: i64,
    ) -> QueryResult<Vec<ResultSeries>> {
        let measurements = measurements_of(&statement.sources, catalog, database)?;
        let keys = self
            .series_keys(
                database,
                catalog,
                &measurements,
                statement.condition.as_ref(),
                now,
            )
            .await?;
        let all: Vec<String> = keys.into_values().flatten().collect();
        let all = page(all, statement.limit, statement.offset);
        if all.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![listing("", &["key"], strings(all))])
    }

    pub(crate) async fn show_cardinality(
        &self,
        database: &str,
        catalog: &Catalog,
        statement: &ShowCardinalityStatement,
        now: i64,
    ) -> QueryResult<Vec<ResultSeries>> {
        let measurements = measurements_of(&statement.sources, catalog, database)?;
        let count = |n: usize| vec![vec![Value::Integer(n as i64)]];
        let mut out = Vec::new();
        match &statement.kind {
            CardinalityKind::Measurement => {
                return Ok(vec![listing("", &["count"], count(measurements.len()))]);
            }
            CardinalityKind::Series => {
                let keys = self
                    .series_keys(
                        database,
                        catalog,
                        &measurements,
                        statement.condition.as_ref(),
                        now,
                    )
                    .await?;
                if !statement.exact {
                    let total = keys.values().map(Vec::len).sum();
                    return Ok(vec![listing("", &["cardinality estimation"], count(total))]);
                }
                for (name, keys) in keys {
                    if !keys.is_empty() {
                        out.push(listing(&name, &["count"], count(keys.len())));
                    }
                }
            }
            CardinalityKind::TagKey => {
                for name in measurements {
                    let n = catalog[name].tags.len();
                    if n > 0 {
                        out.push(listing(name, &["count"], count(n)));
                    }
                }
            }
            CardinalityKind::FieldKey => {
                for name in measurements {
                    let n = catalog[name].fields.len();
                    if n > 0 {
                        out.push(listing(name, &["count"], count(n)));
                    }
                }
            }
            CardinalityKind::TagValues(filter) => {
                for name in measurements {
                    let schema = &catalog[name];
                    let mut values = BTreeSet::new();
                    for key in schema.tags.iter().filter(|k| key_matches(filter, k)) {
                        let sets = self
                            .influxql_tag_sets(
                                database,
                                name,
                                schema,
                                std::slice::from_ref(key),
                                statement.condition.as_ref(),
                                now,
                            )
                            .await?;
                        values.extend(
                            sets.into_iter()
                                .filter_map(|mut s| s.pop().flatten())
                                .map(|v| (key.clone(), v)),
                        );
                    }
                    if !values.is_empty() {
                        out.push(listing(name, &["count"], count(values.len())));
                    }
                }
            }
        }
        Ok(page(out, statement.limit, statement.offset))
    }
}
