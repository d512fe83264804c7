//! Arrow Flight SQL on the HTTP port: statements, prepared statements and the metadata calls
//! of ADBC, JDBC and Grafana.
//!
//! Every ticket and prepared-statement handle carries its whole statement (database, SQL and
//! bound parameters), so any node behind a load balancer can serve any `DoGet`: nothing is kept
//! between calls. The database comes from the `database` header (or `bucket`, `bucket-name`,
//! `iox-namespace-name`), else from the token's grant; the token from `authorization`.

mod catalog;
mod handle;

use std::pin::Pin;
use std::sync::Arc;

use arrow::datatypes::Schema;
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::server::{FlightSqlService, PeekableFlightDataStream};
use arrow_flight::sql::{
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest,
    ActionCreatePreparedStatementResult, CommandGetCatalogs, CommandGetDbSchemas,
    CommandGetSqlInfo, CommandGetTableTypes, CommandGetTables, CommandPreparedStatementQuery,
    CommandStatementQuery, DoPutPreparedStatementResult, ProstMessageExt, SqlInfo,
    TicketStatementQuery,
};
use arrow_flight::{
    Action, FlightDescriptor, FlightEndpoint, FlightInfo, HandshakeRequest, HandshakeResponse,
    IpcMessage, SchemaAsIpc, Ticket,
};
use futures::{Stream, TryStreamExt};
use http::HeaderMap;
use prost::Message;
use tidemark_query::format::hydrated_schema;
use tidemark_query::{QueryKind, QueryStream, TableInfo};
use tidemark_storage::KvDatabase;
use tonic::{Request, Response, Status, Streaming};

use crate::api_error::ApiError;
use crate::metrics::QueryApi;
use crate::state::AppState;
pub use handle::StatementHandle;

/// Headers that name the database, in order of preference (InfluxDB 3's names).
const DATABASE_HEADERS: [&str; 4] = ["database", "bucket", "bucket-name", "iox-namespace-name"];

type FlightStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// The Flight SQL service.
pub struct TidemarkFlightSql<D: KvDatabase> {
    state: Arc<AppState<D>>,
}

impl<D: KvDatabase> std::fmt::Debug for TidemarkFlightSql<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TidemarkFlightSql").finish_non_exhaustive()
    }
}

impl<D: KvDatabase> TidemarkFlightSql<D> {
    /// Creates the service.
    pub fn new(state: Arc<AppState<D>>) -> Self {
        Self { state }
    }

    /// The database the call names (checked against its token), or the token's database.
    async fn database<T>(&self, request: &Request<T>) -> Result<Option<String>, Status> {
        let headers = request.metadata().clone().into_headers();
        let requested = requested_database(&headers)?;
        Ok(self
            .state
            .auth
            .query_database(&headers, None, requested.as_deref())
            .await?)
    }

    /// Every table the caller's database session sees.
    async fn tables<T>(&self, request: &Request<T>) -> Result<Vec<TableInfo>, Status> {
        let database = self.database(request).await?;
        let engine = &self.state.query;
        Ok(engine
            .tables(database.as_deref())
            .await
            .map_err(ApiError::from)?)
    }

    /// Checks that the caller may read the database a ticket or handle names.
    async fn authorize_handle<T>(
        &self,
        request: &Request<T>,
        handle: &StatementHandle,
    ) -> Result<(), Status> {
        let headers = request.metadata().clone().into_headers();
        let granted = self
            .state
            .auth
            .query_database(&headers, None, handle.database.as_deref())
            .await?;
        if granted != handle.database {
            return Err(Status::permission_denied(
                "the statement names no database and the token grants one; send the database \
                 header",
            ));
        }
        Ok(())
    }

    async fn flight_info_for(
        &self,
        handle: StatementHandle,
        descriptor: FlightDescriptor,
    ) -> Result<Response<FlightInfo>, Status> {
        let prepared = self
            .state
            .query
            .prepare(handle.database.as_deref(), &handle.sql)
            .await
            .map_err(ApiError::from)?;
        let ticket = TicketStatementQuery {
            statement_handle: handle.encode()?.into(),
        };
        let endpoint =
            FlightEndpoint::new().with_ticket(Ticket::new(ticket.as_any().encode_to_vec()));
        let info = FlightInfo::new()
            .try_with_schema(&hydrated_schema(&prepared.schema))
            .map_err(|error| Status::internal(error.to_string()))?
            .with_endpoint(endpoint)
            .with_descriptor(descriptor);
        Ok(Response::new(info))
    }

    async fn run(
        &self,
        handle: StatementHandle,
    ) -> Result<FlightStream<arrow_flight::FlightData>, Status> {
        let engine = &self.state.query;
        let started = std::time::Instant::now();
        let result = async {
            let prepared = engine
                .prepare(handle.database.as_deref(), &handle.sql)
                .await
                .map_err(ApiError::from)?;
            let parameters = handle.parameters()?;
            Ok::<_, Status>(
                engine
                    .execute(prepared, parameters.as_ref(), QueryKind::FlightSql)
                    .await
                    .map_err(ApiError::from)?,
            )
        }
        .await;
        // Until the stream starts: batches flow after this.
        crate::metrics::record_query(QueryApi::FlightSql, started.elapsed(), result.is_err());
        Ok(encode_results(result?))
    }
}

/// The database header of a call, if any.
fn requested_database(headers: &HeaderMap) -> Result<Option<String>, Status> {
    for name in DATABASE_HEADERS {
        if let Some(value) = headers.get(name) {
            let value = value
                .to_str()
                .map_err(|_| Status::invalid_argument(format!("the {name} header is not ASCII")))?;
            if !value.is_empty() {
                return Ok(Some(value.to_owned()));
            }
        }
    }
    Ok(None)
}

/// Streams results as Flight data: dictionaries hydrated, the schema sent even when no row is.
fn encode_results(results: QueryStream) -> FlightStream<arrow_flight::FlightData> {
    let schema = hydrated_schema(&results.schema);
    let batches =
        results.map_err(|error| FlightError::Tonic(Box::new(Status::from(ApiError::from(error)))));
    let encoded = FlightDataEncoderBuilder::new()
        .with_schema(schema)
        .build(batches)
        .map_err(Status::from);
    Box::pin(encoded)
}

fn ipc_schema(schema: &Schema) -> Result<prost::bytes::Bytes, Status> {
    let options = arrow::ipc::writer::IpcWriteOptions::default();
    let message: IpcMessage = SchemaAsIpc::new(schema, &options)
        .try_into()
        .map_err(|error: arrow::error::ArrowError| Status::internal(error.to_string()))?;
    Ok(message.0)
}

#[tonic::async_trait]
impl<D: KvDatabase> FlightSqlService for TidemarkFlightSql<D> {
    type FlightService = Self;

    /// Basic authentication whose password is a token: answers with that token as a bearer.
    async fn do_handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<FlightStream<HandshakeResponse>>, Status> {
        let headers = request.metadata().clone().into_headers();
        let token = crate::auth::presented_token(&headers, None)?;
        self.state.auth.authenticate(&headers, None).await?;
        let output = futures::stream::iter([Ok(HandshakeResponse::default())]);
        let mut response: Response<FlightStream<HandshakeResponse>> =
            Response::new(Box::pin(output));
        if let Some(token) = token {
            let bearer = format!("Bearer {token}")
                .parse()
                .map_err(|_| Status::invalid_argument("the token is not a valid header value"))?;
            response.metadata_mut().insert("authorization", bearer);
        }
        Ok(response)
    }

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let database = self.database(&request).await?;
        let handle = StatementHandle::new(database, query.query);
        self.flight_info_for(handle, request.into_inner()).await
    }

    async fn get_flight_info_prepared_statement(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let handle = StatementHandle::decode(&query.prepared_statement_handle)?;
        self.authorize_handle(&request, &handle).await?;
        self.flight_info_for(handle, request.into_inner()).await
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let handle = StatementHandle::decode(&ticket.statement_handle)?;
        self.authorize_handle(&request, &handle).await?;
        Ok(Response::new(self.run(handle).await?))
    }

    async fn do_get_prepared_statement(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let handle = StatementHandle::decode(&query.prepared_statement_handle)?;
        self.authorize_handle(&request, &handle).await?;
        Ok(Response::new(self.run(handle).await?))
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        let database = self.database(&request).await?;
        let prepared = self
            .state
            .query
            .prepare(database.as_deref(), &query.query)
            .await
            .map_err(ApiError::from)?;
        let handle = StatementHandle::new(database, query.query);
        Ok(ActionCreatePreparedStatementResult {
            prepared_statement_handle: handle.encode()?.into(),
            dataset_schema: ipc_schema(&hydrated_schema(&prepared.schema))?,
            parameter_schema: ipc_schema(&prepared.parameters)?,
        })
    }

    /// Handles are self-contained, so closing one frees nothing.
    async fn do_action_close_prepared_statement(
        &self,
        query: ActionClosePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<(), Status> {
        let handle = StatementHandle::decode(&query.prepared_statement_handle)?;
        self.authorize_handle(&request, &handle).await
    }

    /// Binds parameters: the answer is a new handle that carries them.
    async fn do_put_prepared_statement_query(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<DoPutPreparedStatementResult, Status> {
        let mut handle = StatementHandle::decode(&query.prepared_statement_handle)?;
        self.authorize_handle(&request, &handle).await?;
        let data = request.into_inner().map_err(FlightError::from);
        let mut batches = arrow_flight::decode::FlightRecordBatchStream::new_from_flight_data(data);
        // Only the last row is kept, so only the last non-empty batch is: a client streaming
        // an endless parameter set costs one batch of memory, up to the parameter limit.
        let mut last = None;
        let mut received = 0usize;
        while let Some(batch) = batches.try_next().await.map_err(Status::from)? {
            received = received.saturating_add(batch.get_array_memory_size());
            if received > handle::MAX_PARAMETER_BYTES {
                return Err(Status::resource_exhausted(format!(
                    "bound parameters exceed the limit of {} bytes",
                    handle::MAX_PARAMETER_BYTES
                )));
            }
            if batch.num_rows() > 0 {
                last = Some(batch);
            }
        }
        handle.bind(last.into_iter().collect())?;
        Ok(DoPutPreparedStatementResult {
            prepared_statement_handle: Some(handle.encode()?.into()),
        })
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.clone().into_builder(catalog::sql_info()).schema();
        catalog::flight_info(query, &schema, request.into_inner())
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        catalog::one_batch(query.into_builder(catalog::sql_info()).build())
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.into_builder().schema();
        catalog::flight_info(query, &schema, request.into_inner())
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        catalog::catalogs(query, &self.tables(&request).await?)
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.clone().into_builder().schema();
        catalog::flight_info(query, &schema, request.into_inner())
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        catalog::schemas(query, &self.tables(&request).await?)
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.clone().into_builder().schema();
        catalog::flight_info(query, &schema, request.into_inner())
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        catalog::tables(query, &self.tables(&request).await?)
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.into_builder().schema();
        catalog::flight_info(query, &schema, request.into_inner())
    }

    async fn do_get_table_types(
        &self,
        query: CommandGetTableTypes,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        catalog::table_types(query)
    }

    /// Sessions, transactions and unknown actions: UNIMPLEMENTED, which ADBC treats as "not
    /// supported" (any other code fails its calls).
    async fn do_action_fallback(
        &self,
        request: Request<Action>,
    ) -> Result<Response<<Self as FlightService>::DoActionStream>, Status> {
        Err(Status::unimplemented(format!(
            "action {:?} is not supported",
            request.get_ref().r#type
        )))
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}
