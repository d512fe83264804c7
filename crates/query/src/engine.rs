//! The query engine: one DataFusion session per query, scoped to one tenant.
//!
//! A session sees exactly one database: its measurements are the tables of the default schema
//! (named after the database, so `database()` and `information_schema` agree), next to `system`
//! and `information_schema`. Sessions are cheap and built per query, so a new field or
//! measurement is visible to the next query without any cache to invalidate.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{
    CatalogProvider, CatalogProviderList, MemoryCatalogProvider, MemoryCatalogProviderList,
    MemorySchemaProvider,
};
use datafusion::common::{ParamValues, ScalarValue};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::logical_expr::{ColumnarValue, LogicalPlan, Volatility, create_udf};
use datafusion::prelude::{DataFrame, SQLOptions, SessionConfig, SessionContext};
use futures::Stream;
use std::collections::BTreeMap;

use tidemark_storage::tsdb::{Layout, MeasurementSchema, TenantId};
use tidemark_storage::{KvDatabase, ReadWindow};

use crate::error::{QueryError, QueryResult};
use crate::scan::Shared;
use crate::select::SeriesCache;
use crate::system::{QueryLog, QueryRecord, SystemTable, SystemTableKind, lock};

/// The catalog every session exposes (InfluxDB 3 names it the same).
pub const CATALOG: &str = "public";
/// The schema of a session without a database.
const NO_DATABASE_SCHEMA: &str = "public";
/// Retryable storage errors tolerated in a row while reading the catalog.
const MAX_READ_RETRIES: u32 = 20;
/// The schema of the system tables.
pub const SYSTEM_SCHEMA: &str = "system";

/// Tuning of the query engine.
#[derive(Debug, Clone)]
pub struct QueryConfig {
    /// Partitions a scan is split into (DataFusion's `target_partitions`).
    pub target_partitions: usize,
    /// Concurrent series reads per scan partition.
    pub lanes: usize,
    /// Rows per record batch.
    pub batch_size: usize,
    /// Memory all running queries of this node may hold for sorts, joins and aggregations.
    pub memory_limit_bytes: usize,
    /// The cold tier's object store; without one, scans read the hot tier only.
    pub cold_store: Option<tidemark_storage::cold::ColdStore>,
}

impl Default for QueryConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            target_partitions: cores,
            lanes: 4,
            batch_size: 8192,
            memory_limit_bytes: 4 << 30,
            cold_store: None,
        }
    }
}

/// Which front end a query came from (shown in `system.queries`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryKind {
    /// `/api/v3/query_sql` and `tidemark query`.
    Http,
    /// Arrow Flight SQL.
    FlightSql,
}

impl QueryKind {
    fn name(self) -> &'static str {
        match self {
            Self::Http => "sql",
            Self::FlightSql => "flightsql",
        }
    }
}

/// A table as Flight SQL's metadata calls list it.
#[derive(Debug, Clone)]
pub struct TableInfo {
    /// Catalog name.
    pub catalog: String,
    /// Schema name.
    pub schema: String,
    /// Table name.
    pub name: String,
    /// `BASE TABLE` or `VIEW`.
    pub table_type: &'static str,
    /// Columns.
    pub arrow_schema: SchemaRef,
}

/// A planned statement, ready to run (possibly more than once, with other parameters).
#[derive(Clone)]
pub struct Prepared {
    context: SessionContext,
    plan: LogicalPlan,
    tenant: Option<TenantId>,
    sql: String,
    /// The result's schema.
    pub schema: SchemaRef,
    /// The placeholders `$1`, `$2`, ... and their inferred types (`Null` when unknown).
    pub parameters: SchemaRef,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("sql", &self.sql)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

/// A running query's results.
pub struct QueryStream {
    /// The schema every batch has.
    pub schema: SchemaRef,
    inner: SendableRecordBatchStream,
    record: Arc<Mutex<QueryRecord>>,
}

impl std::fmt::Debug for QueryStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryStream")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl Stream for QueryStream {
    type Item = QueryResult<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.inner.as_mut().poll_next(cx);
        match &polled {
            Poll::Ready(Some(Ok(batch))) => lock(&self.record).add_rows(batch.num_rows()),
            Poll::Ready(Some(Err(error))) => lock(&self.record).finish(Some(error.to_string())),
            Poll::Ready(None) => lock(&self.record).finish(None),
            Poll::Pending => {}
        }
        polled.map(|item| item.map(|result| result.map_err(QueryError::from)))
    }
}

impl Drop for QueryStream {
    fn drop(&mut self) {
        lock(&self.record).finish(Some("cancelled".into()));
    }
}

/// Runs SQL over the stored series.
pub struct QueryEngine<D> {
    shared: Arc<Shared<D>>,
    log: Arc<QueryLog>,
    base: SessionState,
    config: QueryConfig,
}

impl<D> std::fmt::Debug for QueryEngine<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryEngine")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<D: KvDatabase> QueryEngine<D> {
    /// Creates the engine.
    pub fn new(db: D, layout: Layout, config: QueryConfig) -> QueryResult<Self> {
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(config.memory_limit_bytes, 1.0)
            .build_arc()?;
        let session_config = SessionConfig::new()
            .with_information_schema(true)
            .with_target_partitions(config.target_partitions.max(1))
            .with_batch_size(config.batch_size.max(1));
        let base = SessionStateBuilder::new()
            .with_config(session_config)
            .with_runtime_env(runtime)
            .with_default_features()
            .build();
        Ok(Self {
            shared: Arc::new(Shared {
                db,
                layout,
                series: SeriesCache::default(),
                lanes: config.lanes.max(1),
                cold: config.cold_store.clone(),
                footers: Arc::default(),
            }),
            log: Arc::new(QueryLog::default()),
            base,
            config,
        })
    }

    /// Builds the session of `database` (none: only `system` and `information_schema`).
    async fn session(
        &self,
        database: Option<&str>,
    ) -> QueryResult<(SessionContext, Option<TenantId>)> {
        let catalog = match database {
            Some(database) => Some(self.read_catalog(database).await?),
            None => None,
        };
        self.session_over(database, catalog)
    }

    /// Builds the session of `database` over its already read catalog.
    fn session_over(
        &self,
        database: Option<&str>,
        stored: Option<(TenantId, BTreeMap<String, MeasurementSchema>)>,
    ) -> QueryResult<(SessionContext, Option<TenantId>)> {
        let schema_name = database.unwrap_or(NO_DATABASE_SCHEMA);
        // Every session starts from one prepared state (functions, rules, runtime), which costs
        // about a millisecond to build; only the catalog and the default schema differ.
        let config = self
            .base
            .config()
            .clone()
            .with_default_catalog_and_schema(CATALOG, schema_name);
        let catalogs = Arc::new(MemoryCatalogProviderList::new());
        let default_catalog = Arc::new(MemoryCatalogProvider::new());
        default_catalog.register_schema(schema_name, Arc::new(MemorySchemaProvider::new()))?;
        catalogs.register_catalog(CATALOG.to_owned(), default_catalog);
        let state = SessionStateBuilder::new_from_existing(self.base.clone())
            .with_config(config)
            .with_catalog_list(catalogs)
            .build();
        let context = SessionContext::new_with_state(state);
        let name = database.unwrap_or_default().to_owned();
        context.register_udf(create_udf(
            "database",
            Vec::new(),
            DataType::Utf8,
            Volatility::Stable,
            Arc::new(move |_| Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(name.clone()))))),
        ));
        let catalog = context
            .catalog(CATALOG)
            .ok_or_else(|| QueryError::Internal("the default catalog is missing".into()))?;
        let (tenant, measurements) = match stored {
            None => (None, Vec::new()),
            Some((tenant, schemas)) => {
                let schema = catalog
                    .schema(schema_name)
                    .ok_or_else(|| QueryError::Internal("the default schema is missing".into()))?;
                let names: Vec<String> = schemas.keys().cloned().collect();
                for (name, table) in crate::table::tables(&self.shared, tenant, schemas) {
                    schema.register_table(name, table)?;
                }
                (Some(tenant), names)
            }
        };
        let system = Arc::new(MemorySchemaProvider::new());
        for (name, kind) in [
            ("series", SystemTableKind::Series),
            ("queries", SystemTableKind::Queries),
        ] {
            let table = SystemTable {
                kind,
                shared: self.shared.clone(),
                log: self.log.clone(),
                tenant,
                measurements: measurements.clone(),
            };
            datafusion::catalog::SchemaProvider::register_table(
                system.as_ref(),
                name.to_owned(),
                Arc::new(table),
            )?;
        }
        catalog.register_schema(SYSTEM_SCHEMA, system)?;
        Ok((context, tenant))
    }

    /// A session of `database` and its measurements' schemas, for PromQL's metric mapping.
    pub(crate) async fn promql_session(
        &self,
        database: &str,
    ) -> QueryResult<(SessionContext, BTreeMap<String, MeasurementSchema>)> {
        // One catalog read serves both the tables and the metric mapping.
        let (tenant, schemas) = self.read_catalog(database).await?;
        let (context, _) = self.session_over(Some(database), Some((tenant, schemas.clone())))?;
        Ok((context, schemas))
    }

    /// The tenant of `database` and its measurements' schemas, at one read version; retryable
    /// read errors (FDB's 1007, 1037, ...) retry in a new transaction.
    async fn read_catalog(
        &self,
        database: &str,
    ) -> QueryResult<(TenantId, BTreeMap<String, MeasurementSchema>)> {
        let layout = &self.shared.layout;
        let mut window = ReadWindow::new(self.shared.db.clone());
        let mut attempts = 0;
        loop {
            let tx = window.tx()?;
            let result: Result<_, tidemark_storage::KvError> = async {
                let Some(tenant) = layout.tenant_id(tx, database).await? else {
                    return Ok(None);
                };
                Ok(Some((tenant, layout.schemas(tx, tenant).await?)))
            }
            .await;
            match result {
                Ok(Some(catalog)) => return Ok(catalog),
                Ok(None) => return Err(QueryError::DatabaseNotFound(database.to_owned())),
                Err(error) if error.is_retryable() && attempts < MAX_READ_RETRIES => {
                    attempts += 1;
                    window.invalidate();
                }
                Err(error) => return Err(QueryError::Storage(error)),
            }
        }
    }

    /// Plans `sql` against `database`. Only queries run: DDL, DML and `SET` are refused.
    pub async fn prepare(&self, database: Option<&str>, sql: &str) -> QueryResult<Prepared> {
        let (context, tenant) = self.session(database).await?;
        let plan = context.state().create_logical_plan(sql).await?;
        SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false)
            .verify_plan(&plan)
            .map_err(|error| QueryError::Unsupported(error.strip_backtrace()))?;
        let schema = Arc::new(plan.schema().as_arrow().clone());
        let parameters = parameter_schema(&plan)?;
        Ok(Prepared {
            context,
            plan,
            tenant,
            sql: sql.to_owned(),
            schema,
            parameters,
        })
    }

    /// Runs a prepared statement; `parameters` holds one row of values for `$1`, `$2`, ...
    pub async fn execute(
        &self,
        prepared: Prepared,
        parameters: Option<&RecordBatch>,
        kind: QueryKind,
    ) -> QueryResult<QueryStream> {
        let record = self.log.start(prepared.tenant, kind.name(), &prepared.sql);
        let result = self.start(prepared, parameters).await;
        match result {
            Ok(inner) => Ok(QueryStream {
                schema: inner.schema(),
                inner,
                record,
            }),
            Err(error) => {
                lock(&record).finish(Some(error.to_string()));
                Err(error)
            }
        }
    }

    async fn start(
        &self,
        prepared: Prepared,
        parameters: Option<&RecordBatch>,
    ) -> QueryResult<SendableRecordBatchStream> {
        let mut plan = prepared.plan;
        if let Some(batch) = parameters {
            plan = plan.with_param_values(parameter_values(batch)?)?;
        } else if !prepared.parameters.fields().is_empty() {
            return Err(QueryError::Invalid(format!(
                "the statement has {} parameters and none were bound",
                prepared.parameters.fields().len()
            )));
        }
        let frame = DataFrame::new(prepared.context.state(), plan);
        Ok(frame.execute_stream().await?)
    }

    /// Plans and runs `sql` in one step.
    pub async fn query(
        &self,
        database: Option<&str>,
        sql: &str,
        kind: QueryKind,
    ) -> QueryResult<QueryStream> {
        let prepared = self.prepare(database, sql).await?;
        self.execute(prepared, None, kind).await
    }

    /// Every table a session of `database` sees, for Flight SQL's metadata calls.
    pub async fn tables(&self, database: Option<&str>) -> QueryResult<Vec<TableInfo>> {
        let (context, _) = self.session(database).await?;
        let mut tables = Vec::new();
        for catalog_name in context.catalog_names() {
            let Some(catalog) = context.catalog(&catalog_name) else {
                continue;
            };
            let mut schema_names = catalog.schema_names();
            schema_names.sort();
            for schema_name in schema_names {
                let Some(schema) = catalog.schema(&schema_name) else {
                    continue;
                };
                let mut names = schema.table_names();
                names.sort();
                for name in names {
                    let Some(table) = schema.table(&name).await? else {
                        continue;
                    };
                    let table_type = match table.table_type() {
                        datafusion::datasource::TableType::Base => "BASE TABLE",
                        datafusion::datasource::TableType::View => "VIEW",
                        datafusion::datasource::TableType::Temporary => "LOCAL TEMPORARY",
                    };
                    tables.push(TableInfo {
                        catalog: catalog_name.clone(),
                        schema: schema_name.clone(),
                        name,
                        table_type,
                        arrow_schema: table.schema(),
                    });
                }
            }
        }
        Ok(tables)
    }
}

/// `$1`, `$2`, ... in numeric order with their inferred types.
fn parameter_schema(plan: &LogicalPlan) -> QueryResult<SchemaRef> {
    let mut parameters: Vec<(String, DataType)> = plan
        .get_parameter_types()?
        .into_iter()
        .map(|(name, kind)| (name, kind.unwrap_or(DataType::Null)))
        .collect();
    parameters.sort_by_key(|(name, _)| {
        let number = name
            .trim_start_matches('$')
            .parse::<u64>()
            .unwrap_or(u64::MAX);
        (number, name.clone())
    });
    Ok(Arc::new(Schema::new(
        parameters
            .into_iter()
            .map(|(name, kind)| Field::new(name, kind, true))
            .collect::<Vec<_>>(),
    )))
}

/// The first row of a parameter batch as positional values.
fn parameter_values(batch: &RecordBatch) -> QueryResult<ParamValues> {
    if batch.num_rows() != 1 {
        return Err(QueryError::Invalid(format!(
            "parameters must be bound as exactly one row, got {}",
            batch.num_rows()
        )));
    }
    let values = batch
        .columns()
        .iter()
        .map(|column| ScalarValue::try_from_array(column, 0))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ParamValues::from(values))
}
