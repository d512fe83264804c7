//! OTLP/JSON: the SDK export as JSON translates like protobuf, the proto3 JSON rules OTLP uses,
//! and bounded nesting.

use prost::Message;

use super::common::*;
use super::translate;
use crate::otlp::proto::*;
use crate::otlp::{self, OtlpOptions};

const JSON: &str = include_str!("sdk_metrics.json");

#[test]
fn json_export_translates_like_protobuf() {
    let from_json = translate(
        &otlp::decode_json(JSON.as_bytes()).unwrap(),
        &OtlpOptions::default(),
    );
    let bytes = sdk_request().encode_to_vec();
    let from_proto = translate(
        &otlp::decode_protobuf(&bytes).unwrap(),
        &OtlpOptions::default(),
    );
    assert_eq!(from_json, from_proto);
}

#[test]
fn json_rules() {
    let body = br#"{"resource_metrics":[{"scopeMetrics":[{"metrics":[{"name":"g","gauge":{"dataPoints":[
        {"timeUnixNano":"1700000060123456789","asDouble":"NaN","unknownField":[1,2,3],
         "exemplars":[{"timeUnixNano":1,"asInt":"9","traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"eee19b7ec3c1b174"}],
         "attributes":[{"key":"k","value":{"arrayValue":{"values":[{"intValue":"1"},{"boolValue":true},{"kvlistValue":{"values":[{"key":"b","value":{"doubleValue":"Infinity"}}]}}]}}}]},
        {"timeUnixNano":1700000060123456789,"asDouble":1e3,"attributes":[{"key":"k","value":{"bytesValue":"aGk="}}],"flags":null}
    ]}}]}]}]}"#;
    let request = otlp::decode_json(body).unwrap();
    let point = match &request.resource_metrics[0].scope_metrics[0].metrics[0].data {
        Some(metric::Data::Gauge(gauge)) => gauge.data_points[0].clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(point.exemplars[0].trace_id.len(), 16);
    assert_eq!(
        point.exemplars[0].span_id,
        vec![0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74]
    );
    let decoded = translate(&request, &OtlpOptions::default());
    let values: Vec<(Option<&str>, f64)> = decoded
        .series
        .iter()
        .map(|s| (s.label("k"), s.samples[0].1))
        .collect();
    assert_eq!(values[1], (Some("aGk="), 1000.0));
    // The kvlist holds an infinity, which Go's JSON encoder refuses: pdata gives "".
    assert_eq!(values[0].0, None);
    assert!(values[0].1.is_nan());

    for bad in [
        &br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"g","gauge":{"dataPoints":[{"asDouble":1,"asInt":"1"}]}}]}]}]}"#[..],
        br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"gauge":{},"sum":{}}]}]}]}"#,
        br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"gauge":{"dataPoints":[{"timeUnixNano":"-1"}]}}]}]}]}"#,
        br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"gauge":{"dataPoints":[{"exemplars":[{"traceId":"xyz"}]}]}}]}]}]}"#,
        br#"{"resourceMetrics":"#,
    ] {
        assert!(otlp::decode_json(bad).is_err(), "{}", String::from_utf8_lossy(bad));
    }
}

/// Nested arrays far past the recursion limit: an error, not a stack overflow, even on a thread
/// with a small stack.
#[test]
fn deep_nesting_is_an_error() {
    let handle = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(|| {
            let depth = 5_000;
            let mut value = String::from(r#"{"intValue":"1"}"#);
            for _ in 0..depth {
                value = format!(r#"{{"arrayValue":{{"values":[{value}]}}}}"#);
            }
            let body = format!(
                r#"{{"resourceMetrics":[{{"resource":{{"attributes":[{{"key":"k","value":{value}}}]}}}}]}}"#
            );
            let json = otlp::decode_json(body.as_bytes()).map(|_| ());
            let mut value = String::from(r#"{"intValue":"1"}"#);
            for _ in 0..depth {
                value = format!(r#"{{"kvlistValue":{{"values":[{{"key":"k","value":{value}}}]}}}}"#);
            }
            let body = format!(r#"{{"resourceMetrics":[{{"scopeMetrics":[{{"scope":{{"attributes":[{{"key":"k","value":{value}}}]}}}}]}}]}}"#);
            let kvlist = otlp::decode_json(body.as_bytes()).map(|_| ());
            // The same depth in protobuf.
            let mut nested = AnyValue { value: Some(any_value::Value::IntValue(1)) };
            for _ in 0..200 {
                nested = AnyValue {
                    value: Some(any_value::Value::ArrayValue(ArrayValue { values: vec![nested] })),
                };
            }
            let body = ExportMetricsServiceRequest {
                resource_metrics: vec![ResourceMetrics {
                    resource: Some(Resource {
                        attributes: vec![KeyValue { key: "k".into(), value: Some(nested) }],
                        dropped_attributes_count: 0,
                    }),
                    ..Default::default()
                }],
            }
            .encode_to_vec();
            (json.and(kvlist), otlp::decode_protobuf(&body).map(|_| ()))
        })
        .unwrap();
    let (json, protobuf) = handle.join().expect("no stack overflow");
    assert!(json.unwrap_err().to_string().contains("recursion limit"));
    assert!(protobuf.is_err());
}
