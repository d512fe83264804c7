//! InfluxQL over the same storage, tiers, dedup and tenancy as SQL and PromQL.
//!
//! The language (lexer, parser, syntax tree, time ranges) is `tidemark-influxql`'s. Here a
//! statement is executed: each SELECT reads its measurements' points through one SQL query
//! each (so the scan pushes time and tag filters down and every limit of a SQL query holds),
//! then groups, windows, reduces, fills and transforms them as InfluxDB 1.x does
//! (`select`); SHOW statements answer from the catalog and the stored series (`show`).
//! `server` turns the results into 1.x JSON or CSV.

mod aggregate;
mod fetch;
mod functions;
mod memory;
mod projection;
mod select;
mod selectors;
mod shape;
mod show;
mod value;
mod window;

use std::collections::BTreeMap;

use tidemark_influxql::ast::Statement;
use tidemark_storage::KvDatabase;
use tidemark_storage::tsdb::MeasurementSchema;
use tidemark_storage::window::ReadWindow;

pub use tidemark_influxql::ast;
pub use value::{ResultSeries, Row, StatementResult, Value};

use crate::{QueryEngine, QueryError, QueryResult};

/// Parses a query text of `;`-separated statements; the error is InfluxDB 1.x's wording.
pub fn parse(text: &str) -> Result<Vec<Statement>, String> {
    tidemark_influxql::parse(text).map_err(|error| error.to_string())
}

/// How one statement runs.
#[derive(Debug, Clone, Copy)]
pub struct StatementContext<'a> {
    /// The request's `db`, used where a statement names none.
    pub database: Option<&'a str>,
    /// What `now()` means, nanoseconds since the epoch.
    pub now: i64,
    /// The databases the caller may see (`None`: all), for `SHOW DATABASES`.
    pub visible: Option<&'a [String]>,
}

/// The database a statement reads: the one it names (`ON db`, `db..m`), else the request's.
pub fn statement_database<'a>(
    statement: &'a Statement,
    default: Option<&'a str>,
) -> Option<&'a str> {
    use tidemark_influxql::ast::Source;
    let named = |sources: &'a [Source]| {
        sources.iter().find_map(|source| match source {
            Source::Measurement(m) => m.database.as_deref(),
            Source::Subquery(_) => None,
        })
    };
    let on = match statement {
        Statement::Select(select) => named(&select.sources),
        Statement::ShowMeasurements(show) => show.on.as_ref().and_then(|on| match &on.database {
            tidemark_influxql::ast::NameOrWildcard::Name(name) => Some(name.as_str()),
            tidemark_influxql::ast::NameOrWildcard::Wildcard => None,
        }),
        Statement::ShowTagKeys(show) => show.database.as_deref().or_else(|| named(&show.sources)),
        Statement::ShowTagValues(show) => show.database.as_deref().or_else(|| named(&show.sources)),
        Statement::ShowFieldKeys(show) => show.database.as_deref().or_else(|| named(&show.sources)),
        Statement::ShowSeries(show) => show.database.as_deref().or_else(|| named(&show.sources)),
        Statement::ShowCardinality(show) => {
            show.database.as_deref().or_else(|| named(&show.sources))
        }
        Statement::ShowRetentionPolicies { database } => database.as_deref(),
        Statement::CreateDatabase(create) => Some(create.name.as_str()),
        Statement::DropDatabase { name } => Some(name.as_str()),
        _ => None,
    };
    on.or(default)
}

impl<D: KvDatabase> QueryEngine<D> {
    /// Runs one statement. Errors become the statement's 1.x error object.
    pub async fn influxql_statement(
        &self,
        statement: &Statement,
        context: StatementContext<'_>,
    ) -> StatementResult {
        match self.run_statement(statement, context).await {
            Ok(series) => StatementResult {
                series,
                error: None,
            },
            Err(error) => StatementResult::error(influx_message(&error)),
        }
    }

    async fn run_statement(
        &self,
        statement: &Statement,
        context: StatementContext<'_>,
    ) -> QueryResult<Vec<ResultSeries>> {
        if let Statement::ShowDatabases = statement {
            let mut names = self.database_names().await?;
            if let Some(visible) = context.visible {
                names.retain(|name| visible.contains(name));
            }
            return Ok(vec![show::listing(
                "databases",
                &["name"],
                names.into_iter().map(|n| vec![Value::String(n)]).collect(),
            )]);
        }
        let Some(database) = statement_database(statement, context.database) else {
            return Err(QueryError::Invalid("database name required".to_owned()));
        };
        if let Some(visible) = context.visible
            && !visible.iter().any(|name| name == database)
        {
            return Err(QueryError::Invalid(format!(
                "the token does not grant access to database {database:?}"
            )));
        }
        let now = context.now;
        let catalog: BTreeMap<String, MeasurementSchema> = match self.read_catalog(database).await {
            Ok((_, catalog)) => catalog,
            Err(QueryError::DatabaseNotFound(name)) => {
                return Err(QueryError::DatabaseNotFound(name));
            }
            Err(error) => return Err(error),
        };
        match statement {
            Statement::Select(select) => {
                self.influxql_select(database, &catalog, select, now).await
            }
            Statement::ShowMeasurements(show) => {
                self.show_measurements(database, &catalog, show, now).await
            }
            Statement::ShowTagKeys(show) => self.show_tag_keys(&catalog, database, show),
            Statement::ShowTagValues(show) => {
                self.show_tag_values(database, &catalog, show, now).await
            }
            Statement::ShowFieldKeys(show) => self.show_field_keys(&catalog, database, show),
            Statement::ShowSeries(show) => self.show_series(database, &catalog, show, now).await,
            Statement::ShowCardinality(show) => {
                self.show_cardinality(database, &catalog, show, now).await
            }
            Statement::ShowRetentionPolicies { .. } => Ok(vec![show::listing(
                "",
                &[
                    "name",
                    "duration",
                    "shardGroupDuration",
                    "replicaN",
                    "default",
                ],
                vec![vec![
                    Value::String("autogen".to_owned()),
                    Value::String("0s".to_owned()),
                    Value::String("168h0m0s".to_owned()),
                    Value::Integer(1),
                    Value::Boolean(true),
                ]],
            )]),
            other => Err(QueryError::Unsupported(format!(
                "{} is not supported by Tidemark",
                other.keywords()
            ))),
        }
    }

    /// Every database (tenant) name, sorted.
    pub async fn database_names(&self) -> QueryResult<Vec<String>> {
        let layout = self.shared.layout.clone();
        let mut window = ReadWindow::new(self.shared.db.clone());
        let tenants = window
            .read(|tx| {
                let layout = layout.clone();
                Box::pin(async move { Ok::<_, QueryError>(layout.list_tenants(tx).await?) })
            })
            .await?;
        let mut names: Vec<String> = tenants.into_iter().map(|(name, _)| name).collect();
        names.sort();
        Ok(names)
    }
}

/// The message a 1.x client sees for an error.
fn influx_message(error: &QueryError) -> String {
    match error {
        QueryError::DatabaseNotFound(name) => format!("database not found: {name}"),
        other => other.to_string(),
    }
}
