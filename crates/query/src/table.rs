//! One measurement of a tenant as a DataFusion table.
//!
//! Columns follow InfluxDB 3: the tags (dictionary-encoded strings) and fields (typed as
//! written), each sorted by name, then `time` (nanoseconds, UTC). Time and tag filters are
//! pushed into the scan; projection decodes only the fields a query reads.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};
use tidemark_storage::tsdb::{MeasurementSchema, SeriesId, TenantId};
use tidemark_storage::{KvDatabase, ReadWindow};

use crate::predicate::{Pushdown, TIME_COLUMN};
use crate::scan::SeriesPartition;
use crate::schema::{field_data_type, tag_data_type, time_data_type};
use crate::select::select_series;
use crate::spec::{OutputColumn, ScanSpec, Shared};

/// A measurement table.
pub(crate) struct MeasurementTable<D> {
    shared: Arc<Shared<D>>,
    tenant: TenantId,
    measurement: String,
    schema: SchemaRef,
    columns: Vec<OutputColumn>,
}

impl<D> std::fmt::Debug for MeasurementTable<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeasurementTable")
            .field("measurement", &self.measurement)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl<D: KvDatabase> MeasurementTable<D> {
    pub(crate) fn new(
        shared: Arc<Shared<D>>,
        tenant: TenantId,
        measurement: String,
        catalog: &MeasurementSchema,
    ) -> Self {
        let mut fields = Vec::new();
        let mut columns = Vec::new();
        for tag in &catalog.tags {
            if tag != TIME_COLUMN {
                fields.push(Field::new(tag, tag_data_type(), true));
                columns.push(OutputColumn::Tag(tag.clone()));
            }
        }
        for (name, kind) in &catalog.fields {
            // Ingest rejects a field named `time` or like a tag of the same point; a field that
            // shares a name with a tag of *other* series of the measurement is hidden (the tag
            // wins), since one column cannot be both.
            if name != TIME_COLUMN && !catalog.tags.contains(name) {
                fields.push(Field::new(name, field_data_type(*kind), true));
                columns.push(OutputColumn::Field(name.clone(), *kind));
            }
        }
        fields.push(Field::new(TIME_COLUMN, time_data_type(), false));
        columns.push(OutputColumn::Time);
        Self {
            shared,
            tenant,
            measurement,
            schema: Arc::new(Schema::new(fields)),
            columns,
        }
    }

    fn is_tag(&self, name: &str) -> bool {
        self.columns
            .iter()
            .any(|column| matches!(column, OutputColumn::Tag(tag) if tag == name))
    }
}

#[async_trait]
impl<D: KvDatabase> TableProvider for MeasurementTable<D> {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|filter| {
                if Pushdown::understands(filter, |name| self.is_tag(name)) {
                    // The scan narrows by these, but DataFusion still checks every row.
                    TableProviderFilterPushDown::Inexact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let indices: Vec<usize> = match projection {
            Some(indices) => indices.clone(),
            None => (0..self.columns.len()).collect(),
        };
        let schema = Arc::new(self.schema.project(&indices)?);
        let columns = indices.iter().map(|i| self.columns[*i].clone()).collect();
        let pushdown = Pushdown::analyse(filters, |name| self.is_tag(name));
        if pushdown.time.is_empty() {
            return Ok(Arc::new(EmptyExec::new(schema)));
        }
        let mut window = ReadWindow::new(self.shared.db.clone());
        let series = select_series(
            &mut window,
            &self.shared.layout,
            self.tenant,
            &self.measurement,
            &pushdown.tags,
        )
        .await?;
        if series.is_empty() {
            return Ok(Arc::new(EmptyExec::new(schema)));
        }
        let spec = Arc::new(ScanSpec {
            tenant: self.tenant,
            measurement: self.measurement.clone(),
            cold: self.shared.cold.clone().map(|store| {
                Arc::new(crate::cold::ColdScan::new(
                    store,
                    self.shared.footers.clone(),
                ))
            }),
            schema: schema.clone(),
            columns,
            time: pushdown.time,
            batch_size: state.config().batch_size(),
        });
        let partitions = state.config().target_partitions().clamp(1, series.len());
        let mut assigned: Vec<Vec<SeriesId>> = vec![Vec::new(); partitions];
        for (index, id) in series.into_iter().enumerate() {
            assigned[index % partitions].push(id);
        }
        let streams: Vec<Arc<dyn PartitionStream>> = assigned
            .into_iter()
            .map(|series| {
                Arc::new(SeriesPartition {
                    shared: self.shared.clone(),
                    spec: spec.clone(),
                    series,
                }) as Arc<dyn PartitionStream>
            })
            .collect();
        Ok(Arc::new(StreamingTableExec::try_new(
            schema,
            streams,
            None,
            Vec::new(),
            false,
            limit,
        )?))
    }
}

/// Per-measurement schemas of a tenant, as tables.
pub(crate) fn tables<D: KvDatabase>(
    shared: &Arc<Shared<D>>,
    tenant: TenantId,
    schemas: BTreeMap<String, MeasurementSchema>,
) -> Vec<(String, Arc<dyn TableProvider>)> {
    schemas
        .into_iter()
        .map(|(name, catalog)| {
            let table = MeasurementTable::new(shared.clone(), tenant, name.clone(), &catalog);
            (name, Arc::new(table) as Arc<dyn TableProvider>)
        })
        .collect()
}
