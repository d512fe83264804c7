//! The last step: Prometheus series into rows to write, the memory budget, refusals at the
//! write limits.

use super::common::*;
use crate::batch::ColumnData;
use crate::limits::IngestLimits;
use crate::otlp::proto::*;
use crate::otlp::{OtlpError, OtlpOptions, TranslationStrategy, translate};

fn values(rows: &crate::SeriesRows) -> Vec<f64> {
    match &rows.columns[0].values {
        ColumnData::F64(values) => values.clone(),
        other => panic!("not floats: {other:?}"),
    }
}

#[test]
fn series_become_numbered_rows_with_their_origins() {
    let limits = IngestLimits::default();
    let batch = translate(&sdk_request(), &OtlpOptions::default(), &limits, 1 << 20).unwrap();
    assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
    assert!(batch.batch.errors.is_empty());
    assert_eq!(batch.origins.len(), batch.batch.series.len());
    for (index, rows) in batch.batch.series.iter().enumerate() {
        assert_eq!(rows.lines.of(0), index + 1);
        assert_eq!(rows.columns[0].name, "value");
        assert_eq!(rows.times, vec![TIME_MS * 1_000_000]);
    }
    let gauge = batch
        .batch
        .series
        .iter()
        .position(|rows| rows.key.measurement == "queue_depth")
        .unwrap();
    assert_eq!(batch.origins[gauge], "metric \"queue.depth\" point 1");
    let rows = &batch.batch.series[gauge];
    assert_eq!(values(rows), vec![5.0]);
    let tags: Vec<(&str, &str)> = rows
        .key
        .tags
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    assert_eq!(
        tags,
        vec![
            ("instance", "pod-7f9c"),
            ("job", "checkout"),
            ("queue", "orders")
        ]
    );
    assert_eq!(batch.metadata[0].0, "queue_depth");
}

#[test]
fn stale_points_are_counted_not_stored_and_limits_refuse_points() {
    let mut stale = int_point(vec![KeyValue::string("n", "1")], 0);
    stale.flags = FLAG_NO_RECORDED_VALUE;
    let long = int_point(vec![KeyValue::string("n", "x".repeat(5_000))], 2);
    let gauge = metric(
        "g",
        "",
        "",
        metric::Data::Gauge(Gauge {
            data_points: vec![stale, long, int_point(Vec::new(), 3)],
        }),
    );
    let request = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![gauge],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let limits = IngestLimits::default();
    let batch = translate(&request, &OtlpOptions::default(), &limits, 1 << 20).unwrap();
    assert_eq!(batch.stale_markers, 1);
    assert_eq!(batch.batch.series.len(), 1);
    assert_eq!(values(&batch.batch.series[0]), vec![3.0]);
    assert_eq!(batch.rejected.len(), 1);
    assert_eq!(batch.rejected[0].origin, "metric \"g\" point 2");
    assert!(
        batch.rejected[0].reason.contains("max_tag_value_bytes"),
        "{}",
        batch.rejected[0].reason
    );
}

#[test]
fn a_request_that_expands_past_the_budget_is_refused_whole() {
    // One histogram point with many buckets: every bucket is a series with all the labels.
    let attributes: Vec<KeyValue> = (0..40)
        .map(|index| KeyValue::string(format!("k{index}"), "v".repeat(1_000)))
        .collect();
    let point = HistogramDataPoint {
        attributes,
        time_unix_nano: TIME_NS,
        count: 1,
        bucket_counts: vec![0; 10_001],
        explicit_bounds: (0..10_000).map(f64::from).collect(),
        ..Default::default()
    };
    let histogram = metric(
        "h",
        "",
        "",
        metric::Data::Histogram(Histogram {
            data_points: vec![point],
            aggregation_temporality: TEMPORALITY_CUMULATIVE,
        }),
    );
    let request = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![histogram],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let limits = IngestLimits::default();
    let refused = translate(&request, &OtlpOptions::default(), &limits, 64 << 20);
    assert_eq!(refused, Err(OtlpError::TooLarge { limit: 64 << 20 }));
    assert!(
        refused
            .unwrap_err()
            .to_string()
            .contains("ingest.max_queue_bytes")
    );
}

#[test]
fn utf8_translation_keeps_dotted_names_as_measurements() {
    let options = OtlpOptions {
        translation: TranslationStrategy::NoTranslation,
        ..OtlpOptions::default()
    };
    let limits = IngestLimits::default();
    let batch = translate(&sdk_request(), &options, &limits, 1 << 20).unwrap();
    assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
    let counter = batch
        .batch
        .series
        .iter()
        .find(|rows| rows.key.measurement == "http.requests")
        .expect("dotted name kept");
    assert!(counter.key.tags.iter().any(|(key, _)| key == "http.method"));
}
