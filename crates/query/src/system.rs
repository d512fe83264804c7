//! The `system` schema: `system.series` (series per measurement) and `system.queries` (this
//! node's recent queries of the tenant).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, TimestampNanosecondArray,
    UInt64Array,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::datasource::{MemTable, TableProvider, TableType};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use tidemark_storage::tsdb::{TenantId, now_nanos};
use tidemark_storage::{KvDatabase, RangeRequest, ReadWindow};

use crate::schema::time_data_type;
use crate::spec::Shared;

/// Recent queries kept per node.
const MAX_LOGGED_QUERIES: usize = 1_000;

/// A query's entry in `system.queries`.
#[derive(Debug)]
pub(crate) struct QueryRecord {
    id: u64,
    tenant: Option<TenantId>,
    issued_at: i64,
    started: Instant,
    kind: &'static str,
    text: String,
    rows: u64,
    duration_ms: Option<f64>,
    error: Option<String>,
}

impl QueryRecord {
    /// Counts rows sent.
    pub(crate) fn add_rows(&mut self, rows: usize) {
        self.rows += rows as u64;
    }

    /// Marks the query finished.
    pub(crate) fn finish(&mut self, error: Option<String>) {
        if self.duration_ms.is_none() {
            self.duration_ms = Some(self.started.elapsed().as_secs_f64() * 1e3);
            self.error = error;
        }
    }
}

/// The log behind `system.queries`.
#[derive(Debug, Default)]
pub(crate) struct QueryLog {
    next_id: std::sync::atomic::AtomicU64,
    records: Mutex<VecDeque<Arc<Mutex<QueryRecord>>>>,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl QueryLog {
    /// Records a query as it starts.
    pub(crate) fn start(
        &self,
        tenant: Option<TenantId>,
        kind: &'static str,
        text: &str,
    ) -> Arc<Mutex<QueryRecord>> {
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let record = Arc::new(Mutex::new(QueryRecord {
            id,
            tenant,
            issued_at: now_nanos(),
            started: Instant::now(),
            kind,
            text: text.to_owned(),
            rows: 0,
            duration_ms: None,
            error: None,
        }));
        let mut records = lock(&self.records);
        if records.len() >= MAX_LOGGED_QUERIES {
            records.pop_front();
        }
        records.push_back(record.clone());
        record
    }

    fn batch(&self, tenant: Option<TenantId>) -> DfResult<RecordBatch> {
        let records: Vec<Arc<Mutex<QueryRecord>>> = lock(&self.records)
            .iter()
            .filter(|record| lock(record).tenant == tenant)
            .cloned()
            .collect();
        let records: Vec<_> = records.iter().map(|record| lock(record)).collect();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(UInt64Array::from_iter_values(records.iter().map(|r| r.id))),
            Arc::new(
                TimestampNanosecondArray::from_iter_values(records.iter().map(|r| r.issued_at))
                    .with_timezone(crate::schema::TIME_ZONE),
            ),
            Arc::new(StringArray::from_iter_values(
                records.iter().map(|r| r.kind),
            )),
            Arc::new(StringArray::from_iter_values(
                records.iter().map(|r| r.text.as_str()),
            )),
            Arc::new(UInt64Array::from_iter_values(
                records.iter().map(|r| r.rows),
            )),
            Arc::new(Float64Array::from_iter(
                records.iter().map(|r| r.duration_ms),
            )),
            Arc::new(BooleanArray::from_iter(
                records.iter().map(|r| Some(r.duration_ms.is_none())),
            )),
            Arc::new(BooleanArray::from_iter(
                records
                    .iter()
                    .map(|r| Some(r.duration_ms.is_some() && r.error.is_none())),
            )),
            Arc::new(StringArray::from_iter(
                records.iter().map(|r| r.error.as_deref()),
            )),
        ];
        Ok(RecordBatch::try_new(queries_schema(), columns)?)
    }
}

fn queries_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::UInt64, false),
        Field::new("issue_time", time_data_type(), false),
        Field::new("query_type", DataType::Utf8, false),
        Field::new("query_text", DataType::Utf8, false),
        Field::new("rows", DataType::UInt64, false),
        Field::new("end2end_duration_ms", DataType::Float64, true),
        Field::new("running", DataType::Boolean, true),
        Field::new("success", DataType::Boolean, true),
        Field::new("error", DataType::Utf8, true),
    ]))
}

fn series_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("table_name", DataType::Utf8, false),
        Field::new("series_count", DataType::UInt64, false),
    ]))
}

/// Which system table.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SystemTableKind {
    Series,
    Queries,
}

/// A system table, computed when scanned.
pub(crate) struct SystemTable<D> {
    pub(crate) kind: SystemTableKind,
    pub(crate) shared: Arc<Shared<D>>,
    pub(crate) log: Arc<QueryLog>,
    pub(crate) tenant: Option<TenantId>,
    pub(crate) measurements: Vec<String>,
}

impl<D> std::fmt::Debug for SystemTable<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemTable")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl<D: KvDatabase> SystemTable<D> {
    async fn series_batch(&self) -> DfResult<RecordBatch> {
        let mut counts = Vec::with_capacity(self.measurements.len());
        if let Some(tenant) = self.tenant {
            let mut window = ReadWindow::new(self.shared.db.clone());
            for measurement in &self.measurements {
                let (begin, end) = self.shared.layout.postings(tenant, measurement, ("", ""));
                let mut count = 0u64;
                window
                    .read_append_only(&RangeRequest::new(begin, end), |_| count += 1)
                    .await
                    .map_err(crate::error::QueryError::from)?;
                counts.push(count);
            }
        }
        let names: Vec<&str> = self
            .measurements
            .iter()
            .take(counts.len())
            .map(String::as_str)
            .collect();
        Ok(RecordBatch::try_new(
            series_schema(),
            vec![
                Arc::new(StringArray::from(names)),
                Arc::new(UInt64Array::from(counts)),
            ],
        )?)
    }
}

#[async_trait]
impl<D: KvDatabase> TableProvider for SystemTable<D> {
    fn schema(&self) -> SchemaRef {
        match self.kind {
            SystemTableKind::Series => series_schema(),
            SystemTableKind::Queries => queries_schema(),
        }
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let batch = match self.kind {
            SystemTableKind::Series => self.series_batch().await?,
            SystemTableKind::Queries => self.log.batch(self.tenant)?,
        };
        MemTable::try_new(batch.schema(), vec![vec![batch]])?
            .scan(state, projection, filters, limit)
            .await
    }
}
