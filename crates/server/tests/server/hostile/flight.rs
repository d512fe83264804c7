//! Flight SQL messages built to make the server allocate what they declare.

use arrow_flight::flight_service_client::FlightServiceClient;
use arrow_flight::sql::{
    Any, CommandPreparedStatementQuery, ProstMessageExt, TicketStatementQuery,
};
use arrow_flight::{FlightData, FlightDescriptor, Ticket};
use base64::Engine;
use prost::Message;

use super::{Watchdog, start};

/// An Arrow IPC stream: a schema of one Int64 column `$1` and one batch declaring a body of
/// 2^62 bytes it does not have.
fn lying_parameters() -> Vec<u8> {
    use arrow::array::{Int64Array, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;
    let schema = Arc::new(Schema::new(vec![Field::new("$1", DataType::Int64, true)]));
    let batch =
        RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![7]))]).unwrap();
    let mut bytes = Vec::new();
    let mut writer = arrow::ipc::writer::StreamWriter::try_new(&mut bytes, &schema).unwrap();
    writer.write(&batch).unwrap();
    writer.finish().unwrap();
    drop(writer);
    // The batch message's bodyLength is the only i64 equal to the real body length (16 bytes
    // of values plus validity, 8-aligned) after the schema message: patch every candidate.
    let schema_end = 8 + u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
    let header_end = schema_end
        + 8
        + u32::from_le_bytes(bytes[schema_end + 4..schema_end + 8].try_into().unwrap()) as usize;
    let header = arrow::ipc::root_as_message(&bytes[schema_end + 8..header_end]).unwrap();
    let real = header.bodyLength().to_le_bytes();
    let at = bytes[schema_end + 8..header_end]
        .windows(8)
        .position(|window| window == real)
        .unwrap()
        + schema_end
        + 8;
    bytes[at..at + 8].copy_from_slice(&(1i64 << 62).to_le_bytes());
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flight_messages_cannot_make_the_server_allocate_what_they_declare() {
    let server = start(&[]);
    let watch = Watchdog::start(&server, None);
    let channel = tonic::transport::Channel::from_shared(server.url(""))
        .unwrap()
        .connect()
        .await
        .expect("connect");
    let mut client = FlightServiceClient::new(channel);
    // A ticket whose bound parameters claim a 4-exabyte body.
    let handle = serde_json::json!({
        "db": null,
        "sql": "SELECT $1",
        "parameters": base64::engine::general_purpose::STANDARD.encode(lying_parameters()),
    });
    let ticket = TicketStatementQuery {
        statement_handle: handle.to_string().into_bytes().into(),
    };
    let result = client
        .do_get(Ticket::new(ticket.as_any().encode_to_vec()))
        .await;
    let status = match result {
        Err(status) => status,
        Ok(response) => {
            let mut stream = response.into_inner();
            let mut last = None;
            while let Some(item) = futures::StreamExt::next(&mut stream).await {
                if let Err(status) = item {
                    last = Some(status);
                    break;
                }
            }
            last.expect("the ticket is refused")
        }
    };
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status}");
    // DoPut of parameters that never end: refused past the parameter limit.
    let command = CommandPreparedStatementQuery {
        prepared_statement_handle: serde_json::json!({"db": null, "sql": "SELECT $1"})
            .to_string()
            .into_bytes()
            .into(),
    };
    let descriptor = FlightDescriptor::new_cmd(Any::pack(&command).unwrap().encode_to_vec());
    let schema = std::sync::Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new("$1", arrow::datatypes::DataType::Utf8, true),
    ]));
    let batch = arrow::array::RecordBatch::try_new(
        schema.clone(),
        vec![std::sync::Arc::new(arrow::array::StringArray::from(
            vec!["y".repeat(60_000); 10],
        ))],
    )
    .unwrap();
    let mut messages: Vec<FlightData> =
        arrow_flight::utils::batches_to_flight_data(&schema, vec![batch; 100]).unwrap();
    if let Some(first) = messages.first_mut() {
        first.flight_descriptor = Some(descriptor);
    }
    let result = client.do_put(futures::stream::iter(messages)).await;
    let status = match result {
        Err(status) => status,
        Ok(response) => {
            let mut stream = response.into_inner();
            match futures::StreamExt::next(&mut stream).await {
                Some(Err(status)) => status,
                other => panic!("the endless parameters were accepted: {other:?}"),
            }
        }
    };
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status}");
    watch.finish("flight").await;
}
