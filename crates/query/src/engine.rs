//! The query engine: SQL (and, through [`crate::promql`], PromQL) over one tenant's stored
//! series, on the query runtime and under each query's budget.
//!
//! Every call is admitted first (a slot of the database and of the node, see
//! [`crate::runtime`]), then planned and run on the query runtime with a deadline; results
//! stream back through [`QueryStream`]. Sessions are built per query ([`crate::session`]), so
//! a new field or measurement is visible to the next query without any cache to invalidate.

use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::{ParamValues, ScalarValue};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{DataFrame, SQLOptions, SessionConfig, SessionContext};

use tidemark_storage::KvDatabase;
use tidemark_storage::tsdb::{Layout, TenantId};

use crate::budget::{Budget, QueryLimits};
use crate::error::{QueryError, QueryResult};
use crate::runtime::{Admission, Permits, QueryRuntime, run_budgeted};
use crate::select::SeriesCache;
use crate::spec::Shared;
use crate::stream::QueryStream;
use crate::system::{QueryLog, lock};

/// The catalog every session exposes (InfluxDB 3 names it the same).
pub const CATALOG: &str = "public";
/// The schema of a session without a database.
pub(crate) const NO_DATABASE_SCHEMA: &str = "public";
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
    /// Worker threads of the query runtime.
    pub threads: usize,
    /// What one query may cost.
    pub limits: QueryLimits,
    /// The cold tier's object store; without one, scans read the hot tier only.
    pub cold_store: Option<tidemark_storage::cold::ColdStore>,
    /// The database Prometheus API calls read when they name none (the server's default,
    /// which the first remote_write creates): until it exists it reads as empty. Any other
    /// database that does not exist is `not_found`.
    pub implicit_database: Option<String>,
}

impl Default for QueryConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            target_partitions: cores,
            lanes: 4,
            batch_size: 8192,
            memory_limit_bytes: 4 << 30,
            threads: cores,
            limits: QueryLimits::default(),
            cold_store: None,
            implicit_database: None,
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
    database: Option<String>,
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

/// Runs SQL and PromQL over the stored series. Cheap to clone.
pub struct QueryEngine<D> {
    pub(crate) shared: Arc<Shared<D>>,
    pub(crate) log: Arc<QueryLog>,
    pub(crate) base: Arc<SessionState>,
    pub(crate) limits: Arc<QueryLimits>,
    pub(crate) runtime: Arc<QueryRuntime>,
    pub(crate) admission: Arc<Admission>,
    pub(crate) config: QueryConfig,
}

impl<D> Clone for QueryEngine<D> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            log: Arc::clone(&self.log),
            base: Arc::clone(&self.base),
            limits: Arc::clone(&self.limits),
            runtime: Arc::clone(&self.runtime),
            admission: Arc::clone(&self.admission),
            config: self.config.clone(),
        }
    }
}

impl<D> std::fmt::Debug for QueryEngine<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryEngine")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<D: KvDatabase> QueryEngine<D> {
    /// Creates the engine and its query runtime.
    pub fn new(db: D, layout: Layout, config: QueryConfig) -> QueryResult<Self> {
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(config.memory_limit_bytes, 1.0)
            .build_arc()?;
        let session_config = SessionConfig::new()
            .with_information_schema(true)
            .with_target_partitions(config.target_partitions.max(1))
            .with_batch_size(config.batch_size.max(1));
        let mut base = SessionStateBuilder::new()
            .with_config(session_config)
            .with_runtime_env(runtime)
            .with_default_features()
            .build();
        crate::guard::bound_growing_functions(&mut base, config.limits.max_function_output_bytes)?;
        let limits = Arc::new(config.limits.clone());
        let query_runtime = QueryRuntime::new(config.threads).map_err(|error| {
            QueryError::Internal(format!("cannot start the query runtime: {error}"))
        })?;
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
            base: Arc::new(base),
            admission: Arc::new(Admission::new(Arc::clone(&limits))),
            limits,
            runtime: Arc::new(query_runtime),
            config,
        })
    }

    /// The limits every query runs under.
    pub fn limits(&self) -> &QueryLimits {
        &self.limits
    }

    /// A budget for a query whose client asked for `timeout` (capped by the limits).
    pub(crate) fn budget(&self, timeout: Option<Duration>) -> Arc<Budget> {
        Budget::new(Arc::clone(&self.limits), self.limits.timeout(timeout))
    }

    /// Refuses query texts longer than the limit before anything parses them.
    pub(crate) fn check_text(&self, text: &str) -> QueryResult<()> {
        if text.len() > self.limits.max_query_bytes {
            metrics::counter!("tidemark_limit_refusals_total", "limit" => "query_bytes")
                .increment(1);
            return Err(QueryError::Invalid(format!(
                "the query is {} bytes long; the limit is {} (query.max_query_bytes)",
                text.len(),
                self.limits.max_query_bytes
            )));
        }
        Ok(())
    }

    /// Admits a query of `database`, then runs `work` on the query runtime under `budget`.
    pub(crate) async fn run<T, W>(
        &self,
        database: Option<&str>,
        budget: Arc<Budget>,
        work: W,
    ) -> QueryResult<T>
    where
        T: Send + 'static,
        W: Future<Output = QueryResult<T>> + Send + 'static,
    {
        let permits = self.admission.admit(database.unwrap_or_default()).await?;
        run_budgeted(self.runtime.handle(), budget, async move {
            let _permits = permits;
            work.await
        })
        .await
    }

    /// Plans `sql` against `database`. Only queries run: DDL, DML and `SET` are refused.
    pub async fn prepare(&self, database: Option<&str>, sql: &str) -> QueryResult<Prepared> {
        self.check_text(sql)?;
        let (engine, owned, sql) = (self.clone(), database.map(str::to_owned), sql.to_owned());
        self.run(database, self.budget(None), async move {
            engine.plan(owned.as_deref(), &sql).await
        })
        .await
    }

    async fn plan(&self, database: Option<&str>, sql: &str) -> QueryResult<Prepared> {
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
            database: database.map(str::to_owned),
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
        let permits = self
            .admission
            .admit(prepared.database.as_deref().unwrap_or_default())
            .await?;
        Ok(self.stream(
            prepared,
            parameters.cloned(),
            kind,
            self.budget(None),
            permits,
        ))
    }

    fn stream(
        &self,
        prepared: Prepared,
        parameters: Option<RecordBatch>,
        kind: QueryKind,
        budget: Arc<Budget>,
        permits: Permits,
    ) -> QueryStream {
        let record = self.log.start(prepared.tenant, kind.name(), &prepared.sql);
        let schema = Arc::clone(&prepared.schema);
        let failed = Arc::clone(&record);
        QueryStream::spawn(
            self.runtime.handle(),
            schema,
            budget,
            permits,
            record,
            async move {
                let started = start(prepared, parameters.as_ref()).await;
                if let Err(error) = &started {
                    lock(&failed).finish(Some(error.to_string()));
                }
                started
            },
        )
    }

    /// Plans and runs `sql` in one step, under one budget: the client's `timeout` (capped).
    pub async fn query(
        &self,
        database: Option<&str>,
        sql: &str,
        kind: QueryKind,
        timeout: Option<Duration>,
    ) -> QueryResult<QueryStream> {
        self.check_text(sql)?;
        let budget = self.budget(timeout);
        let permits = self.admission.admit(database.unwrap_or_default()).await?;
        let (engine, owned, text) = (self.clone(), database.map(str::to_owned), sql.to_owned());
        let prepared = run_budgeted(self.runtime.handle(), Arc::clone(&budget), async move {
            engine.plan(owned.as_deref(), &text).await
        })
        .await?;
        Ok(self.stream(prepared, None, kind, budget, permits))
    }

    /// Every table a session of `database` sees, for Flight SQL's metadata calls.
    pub async fn tables(&self, database: Option<&str>) -> QueryResult<Vec<TableInfo>> {
        let (engine, owned) = (self.clone(), database.map(str::to_owned));
        self.run(database, self.budget(None), async move {
            let (context, _) = engine.session(owned.as_deref()).await?;
            list_tables(&context).await
        })
        .await
    }
}

async fn start(
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

async fn list_tables(context: &SessionContext) -> QueryResult<Vec<TableInfo>> {
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
