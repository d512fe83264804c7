//! A request shaped like what the OpenTelemetry Python SDK (1.2x, `opentelemetry-exporter-otlp-
//! proto-http`) exports for one service: the SDK's default resource attributes plus the user's,
//! one meter, and a gauge, a cumulative counter, a delta counter (a second reader configured for
//! delta), an up-down counter and a histogram with the SDK's default buckets.

#![allow(dead_code)]

use crate::otlp::proto::*;
use crate::otlp::series::PromSeries;

pub(super) const START_NS: u64 = 1_700_000_000_000_000_000;
pub(super) const TIME_NS: u64 = 1_700_000_060_123_456_789;
pub(super) const TIME_MS: i64 = 1_700_000_060_123;

/// The Python SDK's default explicit bucket boundaries.
pub(super) const SDK_BOUNDS: [f64; 15] = [
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];

pub(super) fn int_point(attributes: Vec<KeyValue>, value: i64) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        start_time_unix_nano: START_NS,
        time_unix_nano: TIME_NS,
        value: Some(number_data_point::Value::AsInt(value)),
        exemplars: Vec::new(),
        flags: 0,
    }
}

pub(super) fn metric(name: &str, description: &str, unit: &str, data: metric::Data) -> Metric {
    Metric {
        name: name.into(),
        description: description.into(),
        unit: unit.into(),
        data: Some(data),
        metadata: Vec::new(),
    }
}

pub(super) fn sum(points: Vec<NumberDataPoint>, temporality: i32, monotonic: bool) -> metric::Data {
    metric::Data::Sum(Sum {
        data_points: points,
        aggregation_temporality: temporality,
        is_monotonic: monotonic,
    })
}

pub(super) fn sdk_resource() -> Resource {
    Resource {
        attributes: vec![
            KeyValue::string("telemetry.sdk.language", "python"),
            KeyValue::string("telemetry.sdk.name", "opentelemetry"),
            KeyValue::string("telemetry.sdk.version", "1.27.0"),
            KeyValue::string("service.name", "checkout"),
            KeyValue::string("service.instance.id", "pod-7f9c"),
            KeyValue::string("host.name", "web-1"),
        ],
        dropped_attributes_count: 0,
    }
}

pub(super) fn sdk_metrics() -> Vec<Metric> {
    let mut counts = vec![0u64; SDK_BOUNDS.len() + 1];
    counts[1] = 1; // 3.2 ms
    counts[4] = 2; // 42.5 ms, 31 ms
    counts[7] = 1; // 180 ms
    vec![
        metric(
            "queue.depth",
            "Items waiting",
            "{item}",
            metric::Data::Gauge(Gauge {
                data_points: vec![int_point(vec![KeyValue::string("queue", "orders")], 5)],
            }),
        ),
        metric(
            "http.requests",
            "HTTP requests served",
            "{request}",
            sum(
                vec![
                    int_point(vec![KeyValue::string("http.method", "GET")], 3),
                    int_point(vec![KeyValue::string("http.method", "POST")], 1),
                ],
                TEMPORALITY_CUMULATIVE,
                true,
            ),
        ),
        metric(
            "jobs.processed",
            "Jobs processed",
            "{job}",
            sum(vec![int_point(Vec::new(), 7)], TEMPORALITY_DELTA, true),
        ),
        metric(
            "active.sessions",
            "Sessions open",
            "{session}",
            sum(
                vec![int_point(Vec::new(), -2)],
                TEMPORALITY_CUMULATIVE,
                false,
            ),
        ),
        metric(
            "http.server.duration",
            "Request latency",
            "ms",
            metric::Data::Histogram(Histogram {
                data_points: vec![HistogramDataPoint {
                    attributes: vec![KeyValue::string("http.route", "/cart")],
                    start_time_unix_nano: START_NS,
                    time_unix_nano: TIME_NS,
                    count: 4,
                    sum: Some(256.7),
                    bucket_counts: counts,
                    explicit_bounds: SDK_BOUNDS.to_vec(),
                    exemplars: Vec::new(),
                    flags: 0,
                    min: Some(3.2),
                    max: Some(180.0),
                }],
                aggregation_temporality: TEMPORALITY_CUMULATIVE,
            }),
        ),
    ]
}

pub(super) fn sdk_request() -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(sdk_resource()),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "checkout.meter".into(),
                    version: "0.1.0".into(),
                    attributes: Vec::new(),
                    dropped_attributes_count: 0,
                }),
                metrics: sdk_metrics(),
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// The series with this name and these labels besides `__name__` (in any order).
pub(super) fn series<'a>(
    series: &'a [PromSeries],
    name: &str,
    labels: &[(&str, &str)],
) -> &'a PromSeries {
    let mut wanted: Vec<(String, String)> = labels
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    wanted.push(("__name__".into(), name.into()));
    wanted.sort();
    series
        .iter()
        .find(|series| series.labels == wanted)
        .unwrap_or_else(|| panic!("no series {wanted:?} among {series:#?}"))
}
