//! Preparing a request for its group: the tenant, the field types and the series ids it needs.
//!
//! Known ones come from the caches. Unknown ones are read from, or written to, the catalog in
//! index transactions of their own, committed before the request joins a group: a write group
//! then carries only blind data writes, its size follows the data alone (a request of many new
//! series cannot push a group past FDB's transaction limits), and one request's new series
//! never delay another's commit. Index records are idempotent, so a record whose data never
//! commits is harmless (an empty series).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tidemark_storage::tsdb::{FieldType, Layout, SchemaError, SeriesId, SeriesKey, TenantId};
use tidemark_storage::{KvDatabase, ReadWindow, RunOptions, TxFuture, run};

use super::cache::{Caches, Columns};
use super::{WriteRequest, validate_database};
use crate::batch::SeriesRows;
use crate::error::{IngestError, LineError};
use crate::limits::{IngestLimits, refused};

/// New series resolved per index transaction (each writes a record, postings and tag keys).
const SERIES_PER_INDEX_TRANSACTION: usize = 500;

/// What a request prepared for its group carries.
#[derive(Debug)]
pub(super) struct Prepared {
    pub(super) tenant: TenantId,
    /// The tenant's name: the commit checks that it still names `tenant`.
    pub(super) database: Arc<str>,
    pub(super) series: Vec<(SeriesId, SeriesRows)>,
    pub(super) rejected: Vec<LineError>,
    pub(super) idempotency_key: Option<String>,
}

impl Prepared {
    pub(super) fn points(&self) -> usize {
        self.series.iter().map(|(_, rows)| rows.rows()).sum()
    }
}

/// What preparing needs.
pub(super) struct Context<'c, D> {
    pub(super) db: &'c D,
    pub(super) layout: &'c Layout,
    pub(super) caches: &'c Caches,
    pub(super) limits: &'c IngestLimits,
    pub(super) create_databases: bool,
    /// How long a write may wait on storage (reads and index transactions alike).
    pub(super) timeout: Duration,
}

impl<D> Context<'_, D> {
    fn run_options(&self) -> RunOptions {
        RunOptions {
            timeout: Some(self.timeout),
            ..RunOptions::idempotent()
        }
    }
}

/// Rows refused while preparing: per series index, per row, why.
#[derive(Default)]
struct Refusals {
    rows: BTreeMap<(usize, usize), String>,
    whole: BTreeMap<usize, String>,
}

impl Refusals {
    fn row(&mut self, series: usize, row: usize, message: &str) {
        self.rows
            .entry((series, row))
            .or_insert_with(|| message.to_owned());
    }
}

pub(super) async fn prepare<D: KvDatabase>(
    context: &Context<'_, D>,
    request: WriteRequest,
) -> Result<Prepared, IngestError> {
    if let Some(key) = &request.idempotency_key
        && key.len() > context.limits.max_idempotency_key_bytes
    {
        refused("idempotency_key_bytes");
        return Err(IngestError::Invalid(format!(
            "the Idempotency-Key header is {} bytes long; the limit is {}",
            key.len(),
            context.limits.max_idempotency_key_bytes
        )));
    }
    let tenant = tenant(context, &request.database).await?;
    if let Some(key) = &request.idempotency_key {
        context
            .layout
            .check_idempotency_key_fits(tenant, key)
            .map_err(IngestError::Invalid)?;
    }
    let mut series = request.series;
    let mut refusals = Refusals::default();
    let mut columns: HashMap<String, Arc<Columns>> = HashMap::new();
    for rows in &series {
        let measurement = rows.key.measurement.as_str();
        if !columns.contains_key(measurement) {
            let known = measurement_columns(context, tenant, measurement).await?;
            columns.insert(measurement.to_owned(), known);
        }
    }
    let new_fields = check_columns(context.limits, &series, &columns, &mut refusals);
    let mut unknown: Vec<usize> = Vec::new();
    let mut ids: BTreeMap<usize, SeriesId> = BTreeMap::new();
    for (index, rows) in series.iter().enumerate() {
        if refusals.whole.contains_key(&index) {
            continue;
        }
        match context.caches.series(tenant, rows.identity) {
            Some(id) => {
                ids.insert(index, id);
            }
            None => unknown.push(index),
        }
    }
    if !new_fields.is_empty() || !unknown.is_empty() {
        create_index(
            context,
            tenant,
            &series,
            new_fields,
            &unknown,
            &mut columns,
            &mut ids,
            &mut refusals,
        )
        .await?;
    }
    let mut rejected = Vec::new();
    let mut prepared = Vec::with_capacity(series.len());
    for (index, rows) in series.drain(..).enumerate() {
        if let Some(message) = refusals.whole.get(&index) {
            for row in 0..rows.rows() {
                rejected.push(line_error(rows.lines.of(row), message));
            }
            continue;
        }
        let Some(id) = ids.get(&index).copied() else {
            continue;
        };
        let refused_rows: Vec<(usize, &String)> = refusals
            .rows
            .range((index, 0)..(index + 1, 0))
            .map(|((_, row), message)| (*row, message))
            .collect();
        if refused_rows.is_empty() {
            prepared.push((id, rows));
            continue;
        }
        for (row, message) in &refused_rows {
            rejected.push(line_error(rows.lines.of(*row), message));
        }
        let refused_set: BTreeSet<usize> = refused_rows.iter().map(|(row, _)| *row).collect();
        let kept = rows.retain_rows(|row| !refused_set.contains(&row));
        if kept.rows() > 0 {
            prepared.push((id, kept));
        }
    }
    rejected.sort_by_key(|error| error.line);
    rejected.dedup_by_key(|error| error.line);
    Ok(Prepared {
        tenant,
        database: request.database.as_str().into(),
        series: prepared,
        rejected,
        idempotency_key: request.idempotency_key,
    })
}

fn line_error(line: usize, message: &str) -> LineError {
    LineError {
        line,
        message: message.to_owned(),
        original: String::new(),
    }
}

async fn tenant<D: KvDatabase>(
    context: &Context<'_, D>,
    name: &str,
) -> Result<TenantId, IngestError> {
    if let Some(id) = context.caches.tenant(name) {
        return Ok(id);
    }
    validate_database(name)?;
    let (layout, create) = (context.layout.clone(), context.create_databases);
    let name_owned = name.to_owned();
    let id = run(context.db, context.run_options(), move |tx, _| {
        let (layout, name) = (layout.clone(), name_owned.clone());
        Box::pin(async move {
            Ok::<_, IngestError>(if create {
                Some(layout.create_tenant(tx, &name).await?)
            } else {
                layout.tenant_id(tx, &name).await?
            })
        })
    })
    .await?;
    let id = id.ok_or_else(|| IngestError::DatabaseNotFound(name.to_owned()))?;
    context.caches.learn_tenant(name, id);
    Ok(id)
}

async fn measurement_columns<D: KvDatabase>(
    context: &Context<'_, D>,
    tenant: TenantId,
    measurement: &str,
) -> Result<Arc<Columns>, IngestError> {
    if let Some(columns) = context.caches.columns(tenant, measurement) {
        return Ok(columns);
    }
    let mut window = ReadWindow::with_timeout(context.db.clone(), context.timeout);
    let schema = window
        .read(|tx| -> TxFuture<'_, Result<_, IngestError>> {
            let layout = context.layout.clone();
            let measurement = measurement.to_owned();
            Box::pin(async move { Ok(layout.measurement_schema(tx, tenant, &measurement).await?) })
        })
        .await?;
    let columns = Columns::from(schema);
    context
        .caches
        .learn_columns(tenant, measurement, columns.clone());
    Ok(Arc::new(columns))
}

/// A field the catalog does not hold yet: (measurement, field) → its type in this request.
type NewFields = BTreeMap<(String, String), FieldType>;

/// Checks every column against the catalog: known fields of another type refuse their rows;
/// new fields and tag keys are admitted in order of first appearance while the measurement
/// stays within its column limit, and refuse their rows (or series) past it.
fn check_columns(
    limits: &IngestLimits,
    series: &[SeriesRows],
    columns: &HashMap<String, Arc<Columns>>,
    refusals: &mut Refusals,
) -> NewFields {
    let mut new_fields = NewFields::new();
    let mut added: HashMap<&str, BTreeSet<(bool, &str)>> = HashMap::new();
    for (index, rows) in series.iter().enumerate() {
        let measurement = rows.key.measurement.as_str();
        let Some(known) = columns.get(measurement) else {
            continue;
        };
        let added = added.entry(measurement).or_default();
        let over_limit = |added: &BTreeSet<(bool, &str)>, extra: usize| {
            known.count() + added.len() + extra > limits.max_columns_per_measurement
        };
        let new_tags: Vec<&str> = rows
            .key
            .tags
            .iter()
            .map(|(tag, _)| tag.as_str())
            .filter(|tag| !known.tags.contains(*tag) && !added.contains(&(true, tag)))
            .collect();
        if !new_tags.is_empty() {
            if over_limit(added, new_tags.len()) {
                refused("columns_per_measurement");
                refusals
                    .whole
                    .insert(index, column_limit(limits, measurement));
                continue;
            }
            added.extend(new_tags.iter().map(|tag| (true, *tag)));
        }
        for column in &rows.columns {
            let kind = column.values.kind();
            let refuse_rows = |refusals: &mut Refusals, message: &str| {
                for value in 0..column.values.len() {
                    refusals.row(index, column.row_of(value), message);
                }
            };
            match known.fields.get(&column.name) {
                Some(existing) if *existing == kind => {}
                Some(existing) => {
                    let conflict = SchemaError {
                        measurement: measurement.to_owned(),
                        field: column.name.clone(),
                        existing: existing.name(),
                        attempted: kind.name(),
                    };
                    refuse_rows(refusals, &conflict.to_string());
                }
                None => {
                    let key = (measurement.to_owned(), column.name.clone());
                    if let Some(first) = new_fields.get(&key) {
                        if *first != kind {
                            let conflict = SchemaError {
                                measurement: measurement.to_owned(),
                                field: column.name.clone(),
                                existing: first.name(),
                                attempted: kind.name(),
                            };
                            refuse_rows(refusals, &conflict.to_string());
                        }
                        continue;
                    }
                    if over_limit(added, 1) {
                        refused("columns_per_measurement");
                        refuse_rows(refusals, &column_limit(limits, measurement));
                        continue;
                    }
                    added.insert((false, column.name.as_str()));
                    new_fields.insert(key, kind);
                }
            }
        }
    }
    new_fields
}

fn column_limit(limits: &IngestLimits, measurement: &str) -> String {
    format!(
        "measurement `{measurement}` would have more than {} columns (max_columns_per_measurement)",
        limits.max_columns_per_measurement
    )
}

/// What one index transaction decided.
#[derive(Default)]
struct IndexOutcome {
    /// Fields another writer created first with another type: (measurement, field) → type.
    conflicts: BTreeMap<(String, String), FieldType>,
    /// Fields whose catalog key would not fit the storage limits, with why.
    unfit: BTreeMap<(String, String), String>,
    /// Series ids, by series index.
    ids: Vec<(usize, SeriesId)>,
    /// Series refused, by index, with why.
    refused: Vec<(usize, String)>,
}

/// Writes the catalog entries of new fields and the index records of unknown series, in
/// transactions of bounded size, and learns them once committed.
#[allow(clippy::too_many_arguments)]
async fn create_index<D: KvDatabase>(
    context: &Context<'_, D>,
    tenant: TenantId,
    series: &[SeriesRows],
    new_fields: NewFields,
    unknown: &[usize],
    columns: &mut HashMap<String, Arc<Columns>>,
    ids: &mut BTreeMap<usize, SeriesId>,
    refusals: &mut Refusals,
) -> Result<(), IngestError> {
    let chunks: Vec<&[usize]> = if unknown.is_empty() {
        vec![&[]]
    } else {
        unknown.chunks(SERIES_PER_INDEX_TRANSACTION).collect()
    };
    let mut fields = Some(new_fields);
    for (chunk_index, chunk) in chunks.into_iter().enumerate() {
        let fields_here = if chunk_index == 0 {
            fields.take().unwrap_or_default()
        } else {
            NewFields::new()
        };
        let layout = context.layout.clone();
        let keys: Vec<(usize, SeriesKey)> = chunk
            .iter()
            .map(|index| (*index, series[*index].key.clone()))
            .collect();
        let outcome = run(context.db, context.run_options(), |tx, _| {
            let (layout, fields_here, keys) = (layout.clone(), fields_here.clone(), keys.clone());
            Box::pin(async move {
                let mut outcome = IndexOutcome::default();
                for ((measurement, field), kind) in &fields_here {
                    if let Err(message) = layout.check_field_fits(tenant, measurement, field) {
                        outcome
                            .unfit
                            .insert((measurement.clone(), field.clone()), message);
                        continue;
                    }
                    match layout.field_type(tx, tenant, measurement, field).await? {
                        Some(stored) if stored != *kind => {
                            outcome
                                .conflicts
                                .insert((measurement.clone(), field.clone()), stored);
                        }
                        Some(_) => {}
                        None => layout.set_field_type(tx, tenant, measurement, field, *kind),
                    }
                }
                for (index, key) in &keys {
                    if let Err(message) = layout.check_series_fits(tenant, key) {
                        outcome.refused.push((*index, message));
                        continue;
                    }
                    let (id, _) = layout.resolve_series(tx, tenant, key).await?;
                    outcome.ids.push((*index, id));
                }
                Ok::<_, IngestError>(outcome)
            })
        })
        .await?;
        // Committed: learn what it confirmed.
        for ((measurement, field), kind) in &fields_here {
            let key = (measurement.clone(), field.clone());
            if outcome.conflicts.contains_key(&key) || outcome.unfit.contains_key(&key) {
                continue;
            }
            learn(columns, measurement, |known| {
                known.fields.insert(field.clone(), *kind);
            });
        }
        for (index, id) in &outcome.ids {
            let rows = &series[*index];
            context.caches.learn_series(tenant, rows.identity, *id);
            learn(columns, &rows.key.measurement, |known| {
                known
                    .tags
                    .extend(rows.key.tags.iter().map(|(tag, _)| tag.clone()));
            });
            ids.insert(*index, *id);
        }
        for (index, message) in outcome.refused {
            refusals.whole.insert(index, message);
        }
        for ((measurement, field), stored) in &outcome.conflicts {
            refuse_field(series, measurement, field, refusals, |kind| {
                SchemaError {
                    measurement: measurement.clone(),
                    field: field.clone(),
                    existing: stored.name(),
                    attempted: kind.name(),
                }
                .to_string()
            });
        }
        for ((measurement, field), message) in &outcome.unfit {
            refuse_field(series, measurement, field, refusals, |_| message.clone());
        }
    }
    for (measurement, known) in columns.iter() {
        context
            .caches
            .learn_columns(tenant, measurement, known.as_ref().clone());
    }
    Ok(())
}

/// Applies a change to a measurement's columns (copy on write: the cache shares them).
fn learn(
    columns: &mut HashMap<String, Arc<Columns>>,
    measurement: &str,
    change: impl FnOnce(&mut Columns),
) {
    if let Some(known) = columns.get_mut(measurement) {
        change(Arc::make_mut(known));
    }
}

/// Refuses every row of the request with a value in `field` of `measurement`, with the
/// message `why` gives for the column's type.
fn refuse_field(
    series: &[SeriesRows],
    measurement: &str,
    field: &str,
    refusals: &mut Refusals,
    why: impl Fn(FieldType) -> String,
) {
    for (index, rows) in series.iter().enumerate() {
        if rows.key.measurement != measurement {
            continue;
        }
        for column in rows.columns.iter().filter(|column| column.name == field) {
            let message = why(column.values.kind());
            for value in 0..column.values.len() {
                refusals.row(index, column.row_of(value), &message);
            }
        }
    }
}
