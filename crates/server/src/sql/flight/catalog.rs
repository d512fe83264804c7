//! The metadata calls: SQL info, catalogs, schemas, tables (with their Arrow schemas) and
//! table types. Their tickets are the commands themselves.

use std::sync::{Arc, OnceLock};

use arrow::array::RecordBatch;
use arrow::datatypes::Schema;
use arrow_flight::sql::metadata::{SqlInfoData, SqlInfoDataBuilder};
use arrow_flight::sql::{
    CommandGetCatalogs, CommandGetDbSchemas, CommandGetTableTypes, CommandGetTables,
    ProstMessageExt, SqlInfo, SqlSupportedTransaction,
};
use arrow_flight::{FlightDescriptor, FlightEndpoint, FlightInfo, Ticket};
use prost::Message;
use tidemark_query::TableInfo;
use tidemark_query::format::hydrated_schema;
use tonic::{Response, Status};

use super::FlightStream;

/// What `GetSqlInfo` reports.
pub(super) fn sql_info() -> &'static SqlInfoData {
    static INFO: OnceLock<SqlInfoData> = OnceLock::new();
    INFO.get_or_init(|| {
        let mut builder = SqlInfoDataBuilder::new();
        builder.append(SqlInfo::FlightSqlServerName, "tidemark");
        builder.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
        builder.append(SqlInfo::FlightSqlServerArrowVersion, "59");
        builder.append(SqlInfo::FlightSqlServerReadOnly, true);
        builder.append(SqlInfo::FlightSqlServerSql, true);
        builder.append(SqlInfo::FlightSqlServerSubstrait, false);
        builder.append(
            SqlInfo::FlightSqlServerTransaction,
            SqlSupportedTransaction::None as i32,
        );
        builder.append(SqlInfo::FlightSqlServerCancel, false);
        builder.append(SqlInfo::FlightSqlServerStatementTimeout, 0i32);
        builder.append(SqlInfo::SqlDdlCatalog, false);
        builder.append(SqlInfo::SqlDdlSchema, false);
        builder.append(SqlInfo::SqlDdlTable, false);
        builder.append(SqlInfo::SqlIdentifierQuoteChar, "\"");
        builder.append(SqlInfo::SqlTransactionsSupported, false);
        builder.build().expect("the fixed SQL info is well formed")
    })
}

/// A one-endpoint `FlightInfo` whose ticket is the command.
pub(super) fn flight_info(
    command: impl ProstMessageExt,
    schema: &Schema,
    descriptor: FlightDescriptor,
) -> Result<Response<FlightInfo>, Status> {
    let ticket = Ticket::new(command.as_any().encode_to_vec());
    let info = FlightInfo::new()
        .try_with_schema(schema)
        .map_err(|error| Status::internal(error.to_string()))?
        .with_endpoint(FlightEndpoint::new().with_ticket(ticket))
        .with_descriptor(descriptor);
    Ok(Response::new(info))
}

/// Streams one metadata batch.
pub(super) fn one_batch(
    batch: Result<RecordBatch, arrow_flight::error::FlightError>,
) -> Result<Response<FlightStream<arrow_flight::FlightData>>, Status> {
    let batch = batch.map_err(|error| Status::internal(error.to_string()))?;
    let schema = batch.schema();
    let stream = arrow_flight::encode::FlightDataEncoderBuilder::new()
        .with_schema(schema)
        .build(futures::stream::iter([Ok(batch)]));
    Ok(Response::new(Box::pin(futures::TryStreamExt::map_err(
        stream,
        Status::from,
    ))))
}

pub(super) fn catalogs(
    query: CommandGetCatalogs,
    tables: &[TableInfo],
) -> Result<Response<FlightStream<arrow_flight::FlightData>>, Status> {
    let mut builder = query.into_builder();
    let mut names: Vec<&str> = tables.iter().map(|table| table.catalog.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        builder.append(name);
    }
    one_batch(builder.build())
}

pub(super) fn schemas(
    query: CommandGetDbSchemas,
    tables: &[TableInfo],
) -> Result<Response<FlightStream<arrow_flight::FlightData>>, Status> {
    let mut builder = query.into_builder();
    let mut names: Vec<(&str, &str)> = tables
        .iter()
        .map(|table| (table.catalog.as_str(), table.schema.as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    for (catalog, schema) in names {
        builder.append(catalog, schema);
    }
    one_batch(builder.build())
}

pub(super) fn tables(
    query: CommandGetTables,
    tables: &[TableInfo],
) -> Result<Response<FlightStream<arrow_flight::FlightData>>, Status> {
    let mut builder = query.into_builder();
    for table in tables {
        let schema: Arc<Schema> = hydrated_schema(&table.arrow_schema);
        builder
            .append(
                &table.catalog,
                &table.schema,
                &table.name,
                table.table_type,
                &schema,
            )
            .map_err(|error| Status::internal(error.to_string()))?;
    }
    one_batch(builder.build())
}

pub(super) fn table_types(
    query: CommandGetTableTypes,
) -> Result<Response<FlightStream<arrow_flight::FlightData>>, Status> {
    let mut builder = query.into_builder();
    for kind in ["BASE TABLE", "VIEW"] {
        builder.append(kind);
    }
    one_batch(builder.build())
}
