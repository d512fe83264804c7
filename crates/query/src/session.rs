//! Sessions: one DataFusion session per query, scoped to one database.
//!
//! A session sees exactly one database: its measurements are the tables of the default schema
//! (named after the database, so `database()` and `information_schema` agree), next to
//! `system` and `information_schema`. Sessions start from one prepared state (functions, rules,
//! runtime) and differ only in their catalog.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::catalog::{
    CatalogProvider, CatalogProviderList, MemoryCatalogProvider, MemoryCatalogProviderList,
    MemorySchemaProvider,
};
use datafusion::common::ScalarValue;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
use datafusion::prelude::SessionContext;
use tidemark_storage::tsdb::{MeasurementSchema, TenantId};
use tidemark_storage::{KvDatabase, ReadWindow};

use crate::engine::{CATALOG, NO_DATABASE_SCHEMA, QueryEngine, SYSTEM_SCHEMA};
use crate::error::{QueryError, QueryResult};
use crate::system::{SystemTable, SystemTableKind};

impl<D: KvDatabase> QueryEngine<D> {
    /// Builds the session of `database` (none: only `system` and `information_schema`).
    pub(crate) async fn session(
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
    pub(crate) fn session_over(
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
        let state = SessionStateBuilder::new_from_existing(self.base.as_ref().clone())
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

    /// The tenant of `database` and its measurements' schemas, at one read version (retryable
    /// read errors retry in a new transaction).
    pub(crate) async fn read_catalog(
        &self,
        database: &str,
    ) -> QueryResult<(TenantId, BTreeMap<String, MeasurementSchema>)> {
        let layout = &self.shared.layout;
        let mut window = ReadWindow::new(self.shared.db.clone());
        let found = window
            .read(|tx| {
                let (layout, database) = (layout.clone(), database.to_owned());
                Box::pin(async move {
                    let Some(tenant) = layout.tenant_id(tx, &database).await? else {
                        return Ok::<_, QueryError>(None);
                    };
                    Ok(Some((tenant, layout.schemas(tx, tenant).await?)))
                })
            })
            .await?;
        found.ok_or_else(|| QueryError::DatabaseNotFound(database.to_owned()))
    }
}
