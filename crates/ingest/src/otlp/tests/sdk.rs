//! What Tidemark makes of realistic OTLP exports (see `common`), in protobuf and in JSON, and
//! the Prometheus rules that shape it.

use prost::Message;

use super::common::*;
use super::{Decoded, translate};
use crate::otlp::proto::*;
use crate::otlp::{self, OtlpOptions, TranslationStrategy};
use crate::remote_write::STALE_NAN_BITS;

fn from_protobuf(request: &ExportMetricsServiceRequest, options: &OtlpOptions) -> Decoded {
    let decoded = otlp::decode_protobuf(&request.encode_to_vec()).expect("valid protobuf");
    translate(&decoded, options)
}

fn ident() -> Vec<(&'static str, &'static str)> {
    vec![("instance", "pod-7f9c"), ("job", "checkout")]
}

fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut labels = ident();
    labels.extend_from_slice(extra);
    labels
}

#[test]
fn python_sdk_export_becomes_prometheus_series() {
    let decoded = from_protobuf(&sdk_request(), &OtlpOptions::default());
    let all = &decoded.series;

    let gauge = series(all, "queue_depth", &with(&[("queue", "orders")]));
    assert_eq!(gauge.samples, vec![(TIME_MS, 5.0)]);
    assert_eq!(gauge.origin, "metric \"queue.depth\" point 1");

    let get = series(all, "http_requests_total", &with(&[("http_method", "GET")]));
    assert_eq!(get.samples, vec![(TIME_MS, 3.0)]);
    let post = series(
        all,
        "http_requests_total",
        &with(&[("http_method", "POST")]),
    );
    assert_eq!(post.origin, "metric \"http.requests\" point 2");

    assert_eq!(
        series(all, "active_sessions", &ident()).samples,
        vec![(TIME_MS, -2.0)]
    );

    let route = [("http_route", "/cart")];
    let name = "http_server_duration_milliseconds";
    let sum = series(all, &format!("{name}_sum"), &with(&route));
    assert_eq!(sum.samples, vec![(TIME_MS, 256.7)]);
    let count = series(all, &format!("{name}_count"), &with(&route));
    assert_eq!(count.samples, vec![(TIME_MS, 4.0)]);
    let expected = [
        ("0", 0.0),
        ("5", 1.0),
        ("10", 1.0),
        ("25", 1.0),
        ("50", 3.0),
        ("75", 3.0),
        ("100", 3.0),
        ("250", 4.0),
        ("500", 4.0),
        ("10000", 4.0),
        ("+Inf", 4.0),
    ];
    for (le, cumulative) in expected {
        let labels = with(&[("http_route", "/cart"), ("le", le)]);
        let bucket = series(all, &format!("{name}_bucket"), &labels);
        assert_eq!(bucket.samples, vec![(TIME_MS, cumulative)], "le={le}");
    }

    let target = series(
        all,
        "target_info",
        &with(&[
            ("host_name", "web-1"),
            ("telemetry_sdk_language", "python"),
            ("telemetry_sdk_name", "opentelemetry"),
            ("telemetry_sdk_version", "1.27.0"),
        ]),
    );
    assert_eq!(target.samples, vec![(TIME_MS, 1.0)]);

    // Delta temporality is stored as received.
    assert_eq!(
        series(all, "jobs_processed_total", &ident()).samples,
        vec![(TIME_MS, 7.0)]
    );

    // 1 gauge + 2 counter + 1 delta counter + 1 up-down + (16 buckets + sum + count) + target_info.
    assert_eq!(all.len(), 1 + 2 + 1 + 1 + 18 + 1);
    assert!(decoded.rejected.is_empty(), "{:?}", decoded.rejected);
    assert_eq!(
        decoded.kinds(),
        vec![
            ("queue_depth", "gauge", ""),
            ("http_requests_total", "counter", ""),
            ("jobs_processed_total", "unknown", ""),
            ("active_sessions", "gauge", ""),
            (name, "histogram", "milliseconds"),
            ("target_info", "gauge", ""),
        ]
    );
    assert_eq!(decoded.metadata[1].1.help, "HTTP requests served");
    for series in all {
        let names: Vec<&str> = series
            .labels
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        assert!(names.is_sorted(), "{names:?}");
        assert!(series.labels.iter().all(|(_, value)| !value.is_empty()));
    }
}

#[test]
fn delta_sums_are_refused_when_not_allowed() {
    let options = OtlpOptions {
        allow_delta_temporality: false,
        ..OtlpOptions::default()
    };
    let decoded = from_protobuf(&sdk_request(), &options);
    assert_eq!(decoded.rejected.len(), 1);
    let delta = &decoded.rejected[0];
    assert_eq!(delta.origin, "metric \"jobs.processed\"");
    assert_eq!(delta.points, 1);
    assert!(
        delta
            .reason
            .starts_with("delta temporality is not accepted"),
        "{}",
        delta.reason
    );
    assert_eq!(decoded.rejected_points(), 1);
    assert!(
        decoded
            .series
            .iter()
            .all(|s| s.name() != "jobs_processed_total")
    );
}

#[test]
fn promoted_resource_attributes_and_scope_metadata() {
    let options = OtlpOptions {
        promote_resource_attributes: vec!["host.name".into()],
        promote_scope_metadata: true,
        ..OtlpOptions::default()
    };
    let decoded = from_protobuf(&sdk_request(), &options);
    let labels = with(&[
        ("host_name", "web-1"),
        ("otel_scope_name", "checkout.meter"),
        ("otel_scope_version", "0.1.0"),
        ("queue", "orders"),
    ]);
    series(&decoded.series, "queue_depth", &labels);
    // target_info keeps every non-identifying attribute and gets no scope labels.
    let target = decoded
        .series
        .iter()
        .find(|s| s.name() == "target_info")
        .unwrap();
    assert_eq!(target.label("host_name"), Some("web-1"));
    assert_eq!(target.label("otel_scope_name"), None);

    let all = OtlpOptions {
        promote_all_resource_attributes: true,
        ignore_resource_attributes: vec!["telemetry.sdk.version".into()],
        ..OtlpOptions::default()
    };
    let decoded = from_protobuf(&sdk_request(), &all);
    let gauge = decoded
        .series
        .iter()
        .find(|s| s.name() == "queue_depth")
        .unwrap();
    assert_eq!(gauge.label("telemetry_sdk_name"), Some("opentelemetry"));
    assert_eq!(gauge.label("service_name"), Some("checkout"));
    assert_eq!(gauge.label("telemetry_sdk_version"), None);
}

fn one_metric(metric: Metric, resource: Vec<KeyValue>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: resource,
                dropped_attributes_count: 0,
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: None,
                metrics: vec![metric],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

#[test]
fn points_are_refused_one_by_one() {
    let mut zero_time = int_point(vec![KeyValue::string("n", "2")], 2);
    zero_time.time_unix_nano = 0;
    let mut no_value = int_point(vec![KeyValue::string("n", "3")], 3);
    no_value.value = None;
    let mut stale = int_point(vec![KeyValue::string("n", "4")], 4);
    stale.flags = FLAG_NO_RECORDED_VALUE;
    stale.value = None;
    let mut far = int_point(vec![KeyValue::string("n", "5")], 5);
    far.time_unix_nano = u64::MAX;
    let bad_key = int_point(vec![KeyValue::string("", "x")], 6);
    let points = vec![
        int_point(vec![KeyValue::string("n", "1")], 1),
        zero_time,
        no_value,
        stale,
        far,
        bad_key,
    ];
    let gauge = metric(
        "g",
        "",
        "",
        metric::Data::Gauge(Gauge {
            data_points: points,
        }),
    );
    let decoded = from_protobuf(
        &one_metric(gauge, vec![KeyValue::string("service.name", "svc")]),
        &OtlpOptions::default(),
    );
    let refused: Vec<(&str, &str)> = decoded
        .rejected
        .iter()
        .map(|r| (r.origin.as_str(), r.reason.as_str()))
        .collect();
    assert_eq!(
        refused,
        vec![
            ("metric \"g\" point 2", "time_unix_nano is 0 (not set)"),
            (
                "metric \"g\" point 3",
                "data point has no value (neither asDouble nor asInt is set)"
            ),
            (
                "metric \"g\" point 5",
                "time_unix_nano 18446744073709551615 is past 2262-04-11, the end of signed 64-bit nanosecond time"
            ),
            ("metric \"g\" point 6", "an attribute has an empty key"),
        ]
    );
    let kept: Vec<(Option<&str>, u64)> = decoded
        .series
        .iter()
        .map(|s| (s.label("n"), s.samples[0].1.to_bits()))
        .collect();
    assert_eq!(
        kept,
        vec![(Some("1"), 1f64.to_bits()), (Some("4"), STALE_NAN_BITS)]
    );
    // Only `service.name`: no target_info.
    assert!(decoded.series.iter().all(|s| s.name() != "target_info"));
}

#[test]
fn exponential_histograms_and_summaries() {
    let exponential = metric(
        "latency",
        "",
        "s",
        metric::Data::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![
                ExponentialHistogramDataPoint {
                    time_unix_nano: TIME_NS,
                    count: 3,
                    ..Default::default()
                };
                2
            ],
            aggregation_temporality: TEMPORALITY_CUMULATIVE,
        }),
    );
    let decoded = from_protobuf(
        &one_metric(exponential, Vec::new()),
        &OtlpOptions::default(),
    );
    assert_eq!(decoded.rejected[0].points, 2);
    assert_eq!(
        decoded.rejected[0].reason,
        otlp::EXPONENTIAL_HISTOGRAM_REASON
    );
    assert!(decoded.series.is_empty() && decoded.metadata.is_empty());

    let point = SummaryDataPoint {
        attributes: vec![KeyValue::string("quantile", "shadowed")],
        time_unix_nano: TIME_NS,
        count: 10,
        sum: 5.5,
        quantile_values: vec![
            ValueAtQuantile {
                quantile: 0.5,
                value: 0.4,
            },
            ValueAtQuantile {
                quantile: 0.99,
                value: 1.2,
            },
        ],
        ..Default::default()
    };
    let summary = metric(
        "rpc.duration",
        "",
        "s",
        metric::Data::Summary(Summary {
            data_points: vec![point],
        }),
    );
    let decoded = from_protobuf(&one_metric(summary, Vec::new()), &OtlpOptions::default());
    let all = &decoded.series;
    assert_eq!(
        series(all, "rpc_duration_seconds", &[("quantile", "0.99")]).samples,
        vec![(TIME_MS, 1.2)]
    );
    assert_eq!(
        series(all, "rpc_duration_seconds", &[("quantile", "0.5")]).samples,
        vec![(TIME_MS, 0.4)]
    );
    assert_eq!(
        series(all, "rpc_duration_seconds_sum", &[("quantile", "shadowed")]).samples,
        vec![(TIME_MS, 5.5)]
    );
    assert_eq!(
        series(
            all,
            "rpc_duration_seconds_count",
            &[("quantile", "shadowed")]
        )
        .samples,
        vec![(TIME_MS, 10.0)]
    );
    assert_eq!(
        decoded.kinds(),
        vec![("rpc_duration_seconds", "summary", "seconds")]
    );
}

#[test]
fn labels_collide_override_and_merge() {
    let points = vec![
        int_point(
            vec![
                KeyValue::string("http.method", "GET"),
                KeyValue::string("http_method", "HEAD"),
                KeyValue::string("job", "from-attribute"),
                KeyValue::string("1st", "x"),
            ],
            1,
        ),
        // Same labels, later time: merged into the same series.
        NumberDataPoint {
            time_unix_nano: TIME_NS + 1_000_000_000,
            ..int_point(
                vec![
                    KeyValue::string("http_method", "HEAD"),
                    KeyValue::string("http.method", "GET"),
                    KeyValue::string("1st", "x"),
                ],
                2,
            )
        },
    ];
    let resource = vec![
        KeyValue::string("service.namespace", "shop"),
        KeyValue::string("service.name", "cart"),
    ];
    let gauge = metric(
        "g",
        "",
        "",
        metric::Data::Gauge(Gauge {
            data_points: points,
        }),
    );
    let decoded = from_protobuf(&one_metric(gauge, resource), &OtlpOptions::default());
    assert_eq!(decoded.series.len(), 1, "{:#?}", decoded.series);
    let only = &decoded.series[0];
    assert_eq!(
        only.labels,
        vec![
            ("__name__".to_string(), "g".to_string()),
            ("http_method".into(), "GET;HEAD".into()),
            ("job".into(), "shop/cart".into()),
            ("key_1st".into(), "x".into()),
        ]
    );
    assert_eq!(only.samples, vec![(TIME_MS, 1.0), (TIME_MS + 1000, 2.0)]);
}

#[test]
fn utf8_strategies_keep_names() {
    let options = OtlpOptions {
        translation: TranslationStrategy::NoUtf8EscapingWithSuffixes,
        ..OtlpOptions::default()
    };
    let decoded = from_protobuf(&sdk_request(), &options);
    series(
        &decoded.series,
        "http.requests_total",
        &with(&[("http.method", "GET")]),
    );
    let options = OtlpOptions {
        translation: TranslationStrategy::NoTranslation,
        ..OtlpOptions::default()
    };
    let decoded = from_protobuf(&sdk_request(), &options);
    series(
        &decoded.series,
        "http.server.duration_bucket",
        &with(&[("http.route", "/cart"), ("le", "+Inf")]),
    );
}

#[test]
fn target_info_spans_the_resource_without_blowing_up() {
    let resource = vec![
        KeyValue::string("service.name", "svc"),
        KeyValue::string("region", "eu"),
    ];
    let mut early = int_point(Vec::new(), 1);
    early.time_unix_nano = TIME_NS - 400_000_000_000; // 400 s before
    let late = int_point(Vec::new(), 2);
    let gauge = metric(
        "g",
        "",
        "",
        metric::Data::Gauge(Gauge {
            data_points: vec![late.clone(), early],
        }),
    );
    let decoded = from_protobuf(
        &one_metric(gauge, resource.clone()),
        &OtlpOptions::default(),
    );
    let target = decoded
        .series
        .iter()
        .find(|s| s.name() == "target_info")
        .unwrap();
    let times: Vec<i64> = target.samples.iter().map(|s| s.0).collect();
    // Every 150 s from the earliest point, then the latest (Prometheus ≥ 3.6).
    assert_eq!(
        times,
        vec![
            TIME_MS - 400_000,
            TIME_MS - 250_000,
            TIME_MS - 100_000,
            TIME_MS
        ]
    );

    // Two points decades apart: one sample per point time, not millions.
    let mut ancient = late.clone();
    ancient.time_unix_nano = 1_000_000;
    let gauge = metric(
        "g",
        "",
        "",
        metric::Data::Gauge(Gauge {
            data_points: vec![late, ancient],
        }),
    );
    let decoded = from_protobuf(&one_metric(gauge, resource), &OtlpOptions::default());
    let target = decoded
        .series
        .iter()
        .find(|s| s.name() == "target_info")
        .unwrap();
    assert_eq!(target.samples, vec![(1, 1.0), (TIME_MS, 1.0)]);
}

#[test]
fn responses() {
    let options = OtlpOptions {
        allow_delta_temporality: false,
        ..OtlpOptions::default()
    };
    let decoded = from_protobuf(&sdk_request(), &options);
    let message = decoded.rejection_summary(10);
    let body = otlp::response_protobuf(decoded.rejected_points() as i64, &message);
    let response = ExportMetricsServiceResponse::decode(body.as_slice()).unwrap();
    let partial = response.partial_success.unwrap();
    assert_eq!(partial.rejected_data_points, 1);
    assert!(
        partial
            .error_message
            .starts_with("metric \"jobs.processed\": delta temporality")
    );
    let json: serde_json::Value =
        serde_json::from_slice(&otlp::response_json(1, &message)).unwrap();
    assert_eq!(json["partialSuccess"]["rejectedDataPoints"], "1");
}
