//! Property tests: no input makes the OTLP decoders or the translation panic, and requests built
//! at random come back as the series Prometheus's rules predict, through protobuf and JSON alike.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::common;
use super::{Decoded, translate};
use crate::otlp::proto::*;
use crate::otlp::{self, OtlpOptions};
use prost::Message;
use serde_json::{Value as Json, json};

/// One generated metric: OTel name, monotonic counter or gauge, points of (attributes, ns, value).
#[derive(Debug, Clone)]
struct Generated {
    name: String,
    counter: bool,
    points: Vec<(BTreeMap<String, String>, u64, f64)>,
}

fn generated() -> impl Strategy<Value = Generated> {
    // No `t` in names: no `total`/`ratio` token to move around.
    let name = "[a-s]{1,6}(\\.[a-s]{1,6}){0,2}";
    let attributes = prop::collection::btree_map("[a-z]{1,4}(\\.[a-z]{1,3})?", "[ -~]{0,6}", 0..4);
    let point = (attributes, 1u64..(i64::MAX as u64), any::<f64>());
    (name, any::<bool>(), prop::collection::vec(point, 1..6)).prop_map(|(name, counter, points)| {
        Generated {
            name,
            counter,
            points,
        }
    })
}

fn request(metrics: &[Generated]) -> ExportMetricsServiceRequest {
    let metrics = metrics
        .iter()
        .map(|generated| {
            let points = generated
                .points
                .iter()
                .map(|(attributes, time, value)| NumberDataPoint {
                    attributes: attributes
                        .iter()
                        .map(|(k, v)| KeyValue::string(k, v))
                        .collect(),
                    time_unix_nano: *time,
                    value: Some(number_data_point::Value::AsDouble(*value)),
                    ..Default::default()
                })
                .collect();
            let data = if generated.counter {
                common::sum(points, TEMPORALITY_CUMULATIVE, true)
            } else {
                metric::Data::Gauge(Gauge {
                    data_points: points,
                })
            };
            common::metric(&generated.name, "help", "", data)
        })
        .collect();
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![KeyValue::string("service.name", "svc")],
                dropped_attributes_count: 0,
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: None,
                metrics,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn json_number(value: f64) -> Json {
    match value {
        v if v.is_nan() => json!("NaN"),
        v if v == f64::INFINITY => json!("Infinity"),
        v if v == f64::NEG_INFINITY => json!("-Infinity"),
        // As a string: serde_json's default number parser may round the last bit.
        v => json!(format!("{v:e}")),
    }
}

fn request_json(metrics: &[Generated]) -> Vec<u8> {
    let metrics: Vec<Json> = metrics
        .iter()
        .map(|generated| {
            let points: Vec<Json> = generated
                .points
                .iter()
                .map(|(attributes, time, value)| {
                    let attributes: Vec<Json> = attributes
                        .iter()
                        .map(|(k, v)| json!({"key": k, "value": {"stringValue": v}}))
                        .collect();
                    json!({"attributes": attributes, "timeUnixNano": time.to_string(), "asDouble": json_number(*value)})
                })
                .collect();
            let data = if generated.counter {
                json!({"sum": {"dataPoints": points, "aggregationTemporality": 2, "isMonotonic": true}})
            } else {
                json!({"gauge": {"dataPoints": points}})
            };
            let mut metric = json!({"name": generated.name, "description": "help"});
            if let (Some(metric), Some(data)) = (metric.as_object_mut(), data.as_object()) {
                metric.extend(data.clone());
            }
            metric
        })
        .collect();
    let body = json!({"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
        "scopeMetrics": [{"metrics": metrics}]
    }]});
    serde_json::to_vec(&body).unwrap()
}

type ExpectedSeries = Vec<(Vec<(String, String)>, Vec<(i64, u64)>)>;

/// The series Prometheus's rules give, written out independently of the translator.
fn expected(metrics: &[Generated]) -> ExpectedSeries {
    let mut out: ExpectedSeries = Vec::new();
    for generated in metrics {
        let mut name = generated.name.replace('.', "_");
        if generated.counter {
            name.push_str("_total");
        }
        for (attributes, time, value) in &generated.points {
            let mut labels: Vec<(String, String)> = attributes
                .iter()
                // `job` comes from service.name and wins over an attribute of that name.
                .filter(|(k, v)| !v.is_empty() && k.as_str() != "job")
                .map(|(k, v)| (k.replace('.', "_"), v.clone()))
                .collect();
            labels.push(("__name__".into(), name.clone()));
            labels.push(("job".into(), "svc".into()));
            labels.sort();
            let sample = ((*time / 1_000_000) as i64, value.to_bits());
            match out.iter_mut().find(|(existing, _)| *existing == labels) {
                Some((_, samples)) => samples.push(sample),
                None => out.push((labels, vec![sample])),
            }
        }
    }
    out
}

fn actual(decoded: &Decoded) -> ExpectedSeries {
    decoded
        .series
        .iter()
        .map(|s| {
            (
                s.labels.clone(),
                s.samples.iter().map(|&(t, v)| (t, v.to_bits())).collect(),
            )
        })
        .collect()
}

/// A valid request's bytes, for mutation.
fn seed_bytes() -> Vec<u8> {
    common::sdk_request().encode_to_vec()
}

/// Random JSON built from OTLP's own keys, so that decoding gets deep before it fails.
fn otlp_json() -> impl Strategy<Value = Json> {
    let keys = prop::sample::select(vec![
        "resourceMetrics",
        "resource",
        "attributes",
        "key",
        "value",
        "stringValue",
        "intValue",
        "doubleValue",
        "arrayValue",
        "kvlistValue",
        "values",
        "bytesValue",
        "scopeMetrics",
        "scope",
        "metrics",
        "name",
        "unit",
        "gauge",
        "sum",
        "histogram",
        "summary",
        "exponentialHistogram",
        "dataPoints",
        "timeUnixNano",
        "asDouble",
        "asInt",
        "count",
        "bucketCounts",
        "explicitBounds",
        "quantileValues",
        "quantile",
        "aggregationTemporality",
        "isMonotonic",
        "flags",
        "exemplars",
        "traceId",
        "spanId",
        "positive",
        "offset",
    ]);
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::from),
        any::<i64>().prop_map(Json::from),
        any::<f64>()
            .prop_filter("finite", |v| v.is_finite())
            .prop_map(Json::from),
        "[0-9a-fA-F=+/ -]{0,12}".prop_map(Json::from),
    ];
    leaf.prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..5).prop_map(|map| Json::Object(
                map.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..1024)) {
        if let Ok(request) = otlp::decode_protobuf(&body) {
            let _ = translate(&request, &OtlpOptions::default());
        }
        if let Ok(request) = otlp::decode_json(&body) {
            let _ = translate(&request, &OtlpOptions::default());
        }
    }

    #[test]
    fn mutated_requests_never_panic(edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>()) {
        let mut body = seed_bytes();
        for (at, byte) in edits {
            let index = at.index(body.len());
            body[index] = byte;
        }
        body.truncate(cut.index(body.len() + 1));
        if let Ok(request) = otlp::decode_protobuf(&body) {
            for options in [OtlpOptions::default(), OtlpOptions { allow_delta_temporality: true, promote_scope_metadata: true, promote_all_resource_attributes: true, ..OtlpOptions::default() }] {
                let decoded = translate(&request, &options);
                for series in &decoded.series {
                    prop_assert!(series.labels.windows(2).all(|pair| pair[0].0 < pair[1].0));
                    prop_assert!(series.labels.iter().all(|(_, value)| !value.is_empty()));
                }
            }
        }
    }

    #[test]
    fn arbitrary_json_never_panics(value in otlp_json()) {
        let body = serde_json::to_vec(&json!({"resourceMetrics": [value]})).unwrap();
        if let Ok(request) = otlp::decode_json(&body) {
            let _ = translate(&request, &OtlpOptions::default());
        }
    }

    #[test]
    fn generated_requests_round_trip(metrics in prop::collection::vec(generated(), 1..5)) {
        let want = expected(&metrics);
        let from_protobuf = translate(&otlp::decode_protobuf(&request(&metrics).encode_to_vec()).unwrap(), &OtlpOptions::default());
        prop_assert!(from_protobuf.rejected.is_empty(), "{:?}", from_protobuf.rejected);
        let mut got = actual(&from_protobuf);
        // target_info is not expected: the resource has only service.name.
        got.retain(|(labels, _)| labels.iter().all(|(_, v)| v != "target_info"));
        prop_assert_eq!(&got, &want);
        let from_json = translate(&otlp::decode_json(&request_json(&metrics)).unwrap(), &OtlpOptions::default());
        prop_assert_eq!(actual(&from_json), actual(&from_protobuf));
        prop_assert_eq!(from_json.metadata, from_protobuf.metadata);
    }
}
