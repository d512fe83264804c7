//! OTLP/JSON: the `application/json` encoding of [`ExportMetricsServiceRequest`]. Each message has
//! a mirror struct that serde reads with the OTLP/HTTP rules — lowerCamelCase keys and also the
//! proto field names, unknown keys ignored, scalars read by `scalars` — and that is
//! then turned into the prost type, so translation sees one request type for both encodings.
//!
//! Nesting is bounded by serde_json's default recursion limit (128 levels), which this module
//! keeps: each `AnyValue` array or kvlist level costs three JSON levels, so a body nesting them
//! deeper than about 40 is a decode error, not a stack overflow.

use serde::Deserialize;

use super::{OtlpError, proto};
use scalars::{base64, hex, list, nullable, optional, scalar, temporality};

mod convert;
mod scalars;

/// Decodes an OTLP/JSON `ExportMetricsServiceRequest`.
pub fn decode_json(body: &[u8]) -> Result<proto::ExportMetricsServiceRequest, OtlpError> {
    let request: RequestJson =
        serde_json::from_slice(body).map_err(|error| OtlpError::Json(error.to_string()))?;
    request.try_into().map_err(OtlpError::Json)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestJson {
    #[serde(default, alias = "resource_metrics", deserialize_with = "nullable")]
    resource_metrics: Vec<ResourceMetricsJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceMetricsJson {
    #[serde(default, deserialize_with = "nullable")]
    resource: Option<ResourceJson>,
    #[serde(default, alias = "scope_metrics", deserialize_with = "nullable")]
    scope_metrics: Vec<ScopeMetricsJson>,
    #[serde(default, alias = "schema_url", deserialize_with = "nullable")]
    schema_url: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceJson {
    #[serde(default, deserialize_with = "nullable")]
    attributes: Vec<KeyValueJson>,
    #[serde(
        default,
        alias = "dropped_attributes_count",
        deserialize_with = "scalar"
    )]
    dropped_attributes_count: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScopeMetricsJson {
    #[serde(default, deserialize_with = "nullable")]
    scope: Option<ScopeJson>,
    #[serde(default, deserialize_with = "nullable")]
    metrics: Vec<MetricJson>,
    #[serde(default, alias = "schema_url", deserialize_with = "nullable")]
    schema_url: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScopeJson {
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    version: String,
    #[serde(default, deserialize_with = "nullable")]
    attributes: Vec<KeyValueJson>,
    #[serde(
        default,
        alias = "dropped_attributes_count",
        deserialize_with = "scalar"
    )]
    dropped_attributes_count: u32,
}

#[derive(Deserialize)]
struct KeyValueJson {
    #[serde(default, deserialize_with = "nullable")]
    key: String,
    #[serde(default, deserialize_with = "nullable")]
    value: Option<AnyValueJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnyValueJson {
    #[serde(default, alias = "string_value")]
    string_value: Option<String>,
    #[serde(default, alias = "bool_value")]
    bool_value: Option<bool>,
    #[serde(default, alias = "int_value", deserialize_with = "optional")]
    int_value: Option<i64>,
    #[serde(default, alias = "double_value", deserialize_with = "optional")]
    double_value: Option<f64>,
    #[serde(default, alias = "array_value")]
    array_value: Option<ValuesJson<AnyValueJson>>,
    #[serde(default, alias = "kvlist_value")]
    kvlist_value: Option<ValuesJson<KeyValueJson>>,
    #[serde(default, alias = "bytes_value", deserialize_with = "base64")]
    bytes_value: Option<Vec<u8>>,
}

/// `ArrayValue` and `KeyValueList`: both are `{"values": [...]}`.
#[derive(Deserialize)]
#[serde(bound = "T: Deserialize<'de>")]
struct ValuesJson<T> {
    #[serde(default = "Vec::new", deserialize_with = "nullable")]
    values: Vec<T>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetricJson {
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    description: String,
    #[serde(default, deserialize_with = "nullable")]
    unit: String,
    #[serde(default)]
    gauge: Option<GaugeJson>,
    #[serde(default)]
    sum: Option<SumJson>,
    #[serde(default)]
    histogram: Option<HistogramJson<HistogramPointJson>>,
    #[serde(default, alias = "exponential_histogram")]
    exponential_histogram: Option<HistogramJson<ExponentialPointJson>>,
    #[serde(default)]
    summary: Option<GaugeJson<SummaryPointJson>>,
    #[serde(default, deserialize_with = "nullable")]
    metadata: Vec<KeyValueJson>,
}

/// `Gauge` and `Summary`: both are `{"dataPoints": [...]}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", bound = "T: Deserialize<'de>")]
struct GaugeJson<T = NumberPointJson> {
    #[serde(
        default = "Vec::new",
        alias = "data_points",
        deserialize_with = "nullable"
    )]
    data_points: Vec<T>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SumJson {
    #[serde(default, alias = "data_points", deserialize_with = "nullable")]
    data_points: Vec<NumberPointJson>,
    #[serde(
        default,
        alias = "aggregation_temporality",
        deserialize_with = "temporality"
    )]
    aggregation_temporality: i32,
    #[serde(default, alias = "is_monotonic", deserialize_with = "nullable")]
    is_monotonic: bool,
}

/// `Histogram` and `ExponentialHistogram`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", bound = "T: Deserialize<'de>")]
struct HistogramJson<T> {
    #[serde(
        default = "Vec::new",
        alias = "data_points",
        deserialize_with = "nullable"
    )]
    data_points: Vec<T>,
    #[serde(
        default,
        alias = "aggregation_temporality",
        deserialize_with = "temporality"
    )]
    aggregation_temporality: i32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NumberPointJson {
    #[serde(default, deserialize_with = "nullable")]
    attributes: Vec<KeyValueJson>,
    #[serde(default, alias = "start_time_unix_nano", deserialize_with = "scalar")]
    start_time_unix_nano: u64,
    #[serde(default, alias = "time_unix_nano", deserialize_with = "scalar")]
    time_unix_nano: u64,
    #[serde(default, deserialize_with = "scalar")]
    flags: u32,
    #[serde(default, alias = "as_double", deserialize_with = "optional")]
    as_double: Option<f64>,
    #[serde(default, alias = "as_int", deserialize_with = "optional")]
    as_int: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    exemplars: Vec<ExemplarJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistogramPointJson {
    #[serde(default, deserialize_with = "nullable")]
    attributes: Vec<KeyValueJson>,
    #[serde(default, alias = "start_time_unix_nano", deserialize_with = "scalar")]
    start_time_unix_nano: u64,
    #[serde(default, alias = "time_unix_nano", deserialize_with = "scalar")]
    time_unix_nano: u64,
    #[serde(default, deserialize_with = "scalar")]
    flags: u32,
    #[serde(default, deserialize_with = "scalar")]
    count: u64,
    #[serde(default, deserialize_with = "optional")]
    sum: Option<f64>,
    #[serde(default, alias = "bucket_counts", deserialize_with = "list")]
    bucket_counts: Vec<u64>,
    #[serde(default, alias = "explicit_bounds", deserialize_with = "list")]
    explicit_bounds: Vec<f64>,
    #[serde(default, deserialize_with = "nullable")]
    exemplars: Vec<ExemplarJson>,
    #[serde(default, deserialize_with = "optional")]
    min: Option<f64>,
    #[serde(default, deserialize_with = "optional")]
    max: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExponentialPointJson {
    #[serde(default, deserialize_with = "nullable")]
    attributes: Vec<KeyValueJson>,
    #[serde(default, alias = "start_time_unix_nano", deserialize_with = "scalar")]
    start_time_unix_nano: u64,
    #[serde(default, alias = "time_unix_nano", deserialize_with = "scalar")]
    time_unix_nano: u64,
    #[serde(default, deserialize_with = "scalar")]
    flags: u32,
    #[serde(default, deserialize_with = "scalar")]
    count: u64,
    #[serde(default, deserialize_with = "optional")]
    sum: Option<f64>,
    #[serde(default, deserialize_with = "scalar")]
    scale: i32,
    #[serde(default, alias = "zero_count", deserialize_with = "scalar")]
    zero_count: u64,
    #[serde(default, deserialize_with = "nullable")]
    positive: Option<BucketsJson>,
    #[serde(default, deserialize_with = "nullable")]
    negative: Option<BucketsJson>,
    #[serde(default, deserialize_with = "nullable")]
    exemplars: Vec<ExemplarJson>,
    #[serde(default, deserialize_with = "optional")]
    min: Option<f64>,
    #[serde(default, deserialize_with = "optional")]
    max: Option<f64>,
    #[serde(default, alias = "zero_threshold", deserialize_with = "scalar")]
    zero_threshold: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BucketsJson {
    #[serde(default, deserialize_with = "scalar")]
    offset: i32,
    #[serde(default, alias = "bucket_counts", deserialize_with = "list")]
    bucket_counts: Vec<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SummaryPointJson {
    #[serde(default, deserialize_with = "nullable")]
    attributes: Vec<KeyValueJson>,
    #[serde(default, alias = "start_time_unix_nano", deserialize_with = "scalar")]
    start_time_unix_nano: u64,
    #[serde(default, alias = "time_unix_nano", deserialize_with = "scalar")]
    time_unix_nano: u64,
    #[serde(default, deserialize_with = "scalar")]
    flags: u32,
    #[serde(default, deserialize_with = "scalar")]
    count: u64,
    #[serde(default, deserialize_with = "scalar")]
    sum: f64,
    #[serde(default, alias = "quantile_values", deserialize_with = "nullable")]
    quantile_values: Vec<QuantileJson>,
}

#[derive(Deserialize)]
struct QuantileJson {
    #[serde(default, deserialize_with = "scalar")]
    quantile: f64,
    #[serde(default, deserialize_with = "scalar")]
    value: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExemplarJson {
    #[serde(default, alias = "filtered_attributes", deserialize_with = "nullable")]
    filtered_attributes: Vec<KeyValueJson>,
    #[serde(default, alias = "time_unix_nano", deserialize_with = "scalar")]
    time_unix_nano: u64,
    #[serde(default, alias = "as_double", deserialize_with = "optional")]
    as_double: Option<f64>,
    #[serde(default, alias = "as_int", deserialize_with = "optional")]
    as_int: Option<i64>,
    #[serde(default, alias = "span_id", deserialize_with = "hex")]
    span_id: Vec<u8>,
    #[serde(default, alias = "trace_id", deserialize_with = "hex")]
    trace_id: Vec<u8>,
}
