//! The OTLP metrics schema (`opentelemetry/proto/{common,resource,metrics}/v1`,
//! `collector/metrics/v1/metrics_service.proto`), declared with `prost` derives like
//! remote_write 1.0, so no build-time `protoc` is needed. Field numbers follow opentelemetry-proto
//! 1.x; fields this crate never reads (entity refs, dropped counts of nested messages) are left
//! out, and prost skips them on the wire like any unknown field.
//!
//! Nesting depth is bounded by prost's recursion limit (100 messages), so a hostile body of
//! arrays inside arrays is a decode error, not a stack overflow.

use prost::{Message, Oneof};

/// `ExportMetricsServiceRequest`: the body of `POST /v1/metrics`.
#[derive(Clone, PartialEq, Message)]
pub struct ExportMetricsServiceRequest {
    /// Metrics grouped by the resource that produced them.
    #[prost(message, repeated, tag = "1")]
    pub resource_metrics: Vec<ResourceMetrics>,
}

/// `ExportMetricsServiceResponse`.
#[derive(Clone, PartialEq, Message)]
pub struct ExportMetricsServiceResponse {
    /// Set when some data points were refused; the client must not retry them.
    #[prost(message, optional, tag = "1")]
    pub partial_success: Option<ExportMetricsPartialSuccess>,
}

/// `ExportMetricsPartialSuccess`.
#[derive(Clone, PartialEq, Message)]
pub struct ExportMetricsPartialSuccess {
    /// Data points refused.
    #[prost(int64, tag = "1")]
    pub rejected_data_points: i64,
    /// Why, for the sender's log.
    #[prost(string, tag = "2")]
    pub error_message: String,
}

/// `google.rpc.Status`: the body of an OTLP/HTTP error response (its `details` are not sent).
#[derive(Clone, PartialEq, Message)]
pub struct Status {
    /// A `google.rpc.Code`.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// What went wrong, for the sender's log.
    #[prost(string, tag = "2")]
    pub message: String,
}

/// `ResourceMetrics`.
#[derive(Clone, PartialEq, Message)]
pub struct ResourceMetrics {
    /// The entity that produced the metrics (`service.name`, `host.name`, ...).
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    /// Metrics grouped by instrumentation scope.
    #[prost(message, repeated, tag = "2")]
    pub scope_metrics: Vec<ScopeMetrics>,
    /// Semantic conventions version of the resource.
    #[prost(string, tag = "3")]
    pub schema_url: String,
}

/// `Resource`.
#[derive(Clone, PartialEq, Message)]
pub struct Resource {
    /// Resource attributes.
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<KeyValue>,
    /// Attributes the sender dropped.
    #[prost(uint32, tag = "2")]
    pub dropped_attributes_count: u32,
}

/// `ScopeMetrics`.
#[derive(Clone, PartialEq, Message)]
pub struct ScopeMetrics {
    /// The instrumentation scope (meter) that recorded the metrics.
    #[prost(message, optional, tag = "1")]
    pub scope: Option<InstrumentationScope>,
    /// The metrics.
    #[prost(message, repeated, tag = "2")]
    pub metrics: Vec<Metric>,
    /// Semantic conventions version of the metrics (`otel_scope_schema_url`).
    #[prost(string, tag = "3")]
    pub schema_url: String,
}

/// `InstrumentationScope`.
#[derive(Clone, PartialEq, Message)]
pub struct InstrumentationScope {
    /// Meter name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Meter version.
    #[prost(string, tag = "2")]
    pub version: String,
    /// Scope attributes.
    #[prost(message, repeated, tag = "3")]
    pub attributes: Vec<KeyValue>,
    /// Attributes the sender dropped.
    #[prost(uint32, tag = "4")]
    pub dropped_attributes_count: u32,
}

/// `KeyValue`.
#[derive(Clone, PartialEq, Message)]
pub struct KeyValue {
    /// Attribute name.
    #[prost(string, tag = "1")]
    pub key: String,
    /// Attribute value; absent means the empty value.
    #[prost(message, optional, tag = "2")]
    pub value: Option<AnyValue>,
}

/// `AnyValue`.
#[derive(Clone, PartialEq, Message)]
pub struct AnyValue {
    /// The value; `None` is the empty value.
    #[prost(oneof = "any_value::Value", tags = "1, 2, 3, 4, 5, 6, 7")]
    pub value: Option<any_value::Value>,
}

/// The `AnyValue.value` oneof.
pub mod any_value {
    use super::{ArrayValue, KeyValueList, Oneof};

    /// One attribute value.
    #[derive(Clone, PartialEq, Oneof)]
    pub enum Value {
        /// `string_value`.
        #[prost(string, tag = "1")]
        StringValue(String),
        /// `bool_value`.
        #[prost(bool, tag = "2")]
        BoolValue(bool),
        /// `int_value`.
        #[prost(int64, tag = "3")]
        IntValue(i64),
        /// `double_value`.
        #[prost(double, tag = "4")]
        DoubleValue(f64),
        /// `array_value`.
        #[prost(message, tag = "5")]
        ArrayValue(ArrayValue),
        /// `kvlist_value`.
        #[prost(message, tag = "6")]
        KvlistValue(KeyValueList),
        /// `bytes_value`.
        #[prost(bytes = "vec", tag = "7")]
        BytesValue(Vec<u8>),
    }
}

/// `ArrayValue`.
#[derive(Clone, PartialEq, Message)]
pub struct ArrayValue {
    /// The elements.
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<AnyValue>,
}

/// `KeyValueList`.
#[derive(Clone, PartialEq, Message)]
pub struct KeyValueList {
    /// The entries (keys should be unique; the last one wins when turned into a string).
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<KeyValue>,
}

/// `Metric`.
#[derive(Clone, PartialEq, Message)]
pub struct Metric {
    /// OTel name, such as `http.server.request.duration`.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Becomes the Prometheus help text.
    #[prost(string, tag = "2")]
    pub description: String,
    /// UCUM unit, such as `s`, `By` or `{request}`.
    #[prost(string, tag = "3")]
    pub unit: String,
    /// The data points, by metric kind.
    #[prost(oneof = "metric::Data", tags = "5, 7, 9, 10, 11")]
    pub data: Option<metric::Data>,
    /// Extra metadata (not used).
    #[prost(message, repeated, tag = "12")]
    pub metadata: Vec<KeyValue>,
}

/// The `Metric.data` oneof.
pub mod metric {
    use super::{ExponentialHistogram, Gauge, Histogram, Oneof, Sum, Summary};

    /// The metric's kind and points.
    #[derive(Clone, PartialEq, Oneof)]
    pub enum Data {
        /// `gauge`.
        #[prost(message, tag = "5")]
        Gauge(Gauge),
        /// `sum`.
        #[prost(message, tag = "7")]
        Sum(Sum),
        /// `histogram`.
        #[prost(message, tag = "9")]
        Histogram(Histogram),
        /// `exponential_histogram`.
        #[prost(message, tag = "10")]
        ExponentialHistogram(ExponentialHistogram),
        /// `summary`.
        #[prost(message, tag = "11")]
        Summary(Summary),
    }
}

/// `AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA`.
pub const TEMPORALITY_DELTA: i32 = 1;
/// `AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE`.
pub const TEMPORALITY_CUMULATIVE: i32 = 2;
/// `DataPointFlags.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK`.
pub const FLAG_NO_RECORDED_VALUE: u32 = 1;

/// `Gauge`.
#[derive(Clone, PartialEq, Message)]
pub struct Gauge {
    /// The points.
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<NumberDataPoint>,
}

/// `Sum`: a counter (monotonic) or an up-down counter.
#[derive(Clone, PartialEq, Message)]
pub struct Sum {
    /// The points.
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<NumberDataPoint>,
    /// 1 delta, 2 cumulative, 0 unspecified (invalid).
    #[prost(int32, tag = "2")]
    pub aggregation_temporality: i32,
    /// Counter (true) or up-down counter (false).
    #[prost(bool, tag = "3")]
    pub is_monotonic: bool,
}

/// `Histogram` (explicit buckets).
#[derive(Clone, PartialEq, Message)]
pub struct Histogram {
    /// The points.
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<HistogramDataPoint>,
    /// 1 delta, 2 cumulative, 0 unspecified (invalid).
    #[prost(int32, tag = "2")]
    pub aggregation_temporality: i32,
}

/// `ExponentialHistogram`.
#[derive(Clone, PartialEq, Message)]
pub struct ExponentialHistogram {
    /// The points.
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<ExponentialHistogramDataPoint>,
    /// 1 delta, 2 cumulative, 0 unspecified (invalid).
    #[prost(int32, tag = "2")]
    pub aggregation_temporality: i32,
}

/// `Summary`.
#[derive(Clone, PartialEq, Message)]
pub struct Summary {
    /// The points.
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<SummaryDataPoint>,
}

/// `NumberDataPoint`.
#[derive(Clone, PartialEq, Message)]
pub struct NumberDataPoint {
    /// Point attributes (become labels).
    #[prost(message, repeated, tag = "7")]
    pub attributes: Vec<KeyValue>,
    /// Start of the aggregation interval, ns since the epoch.
    #[prost(fixed64, tag = "2")]
    pub start_time_unix_nano: u64,
    /// When the value was recorded, ns since the epoch.
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    /// The value; a point without one is invalid.
    #[prost(oneof = "number_data_point::Value", tags = "4, 6")]
    pub value: Option<number_data_point::Value>,
    /// Exemplars (counted, not stored).
    #[prost(message, repeated, tag = "5")]
    pub exemplars: Vec<Exemplar>,
    /// Bit 0: no recorded value.
    #[prost(uint32, tag = "8")]
    pub flags: u32,
}

/// The `NumberDataPoint.value` oneof.
pub mod number_data_point {
    use super::Oneof;

    /// A number point's value.
    #[derive(Clone, Copy, PartialEq, Oneof)]
    pub enum Value {
        /// `as_double`.
        #[prost(double, tag = "4")]
        AsDouble(f64),
        /// `as_int`.
        #[prost(sfixed64, tag = "6")]
        AsInt(i64),
    }
}

/// `HistogramDataPoint`.
#[derive(Clone, PartialEq, Message)]
pub struct HistogramDataPoint {
    /// Point attributes (become labels).
    #[prost(message, repeated, tag = "9")]
    pub attributes: Vec<KeyValue>,
    /// Start of the aggregation interval, ns since the epoch.
    #[prost(fixed64, tag = "2")]
    pub start_time_unix_nano: u64,
    /// End of the aggregation interval, ns since the epoch.
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    /// Observations counted.
    #[prost(fixed64, tag = "4")]
    pub count: u64,
    /// Sum of the observations, when known.
    #[prost(double, optional, tag = "5")]
    pub sum: Option<f64>,
    /// Per-bucket (not cumulative) counts, one more than `explicit_bounds`.
    #[prost(fixed64, repeated, tag = "6")]
    pub bucket_counts: Vec<u64>,
    /// Inclusive upper bounds, increasing.
    #[prost(double, repeated, tag = "7")]
    pub explicit_bounds: Vec<f64>,
    /// Exemplars (counted, not stored).
    #[prost(message, repeated, tag = "8")]
    pub exemplars: Vec<Exemplar>,
    /// Bit 0: no recorded value.
    #[prost(uint32, tag = "10")]
    pub flags: u32,
    /// Smallest observation (not used, as in Prometheus).
    #[prost(double, optional, tag = "11")]
    pub min: Option<f64>,
    /// Largest observation (not used, as in Prometheus).
    #[prost(double, optional, tag = "12")]
    pub max: Option<f64>,
}

/// `ExponentialHistogramDataPoint` (decoded so its points can be counted and refused).
#[derive(Clone, PartialEq, Message)]
pub struct ExponentialHistogramDataPoint {
    /// Point attributes.
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<KeyValue>,
    /// Start of the aggregation interval, ns since the epoch.
    #[prost(fixed64, tag = "2")]
    pub start_time_unix_nano: u64,
    /// End of the aggregation interval, ns since the epoch.
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    /// Observations counted.
    #[prost(fixed64, tag = "4")]
    pub count: u64,
    /// Sum of the observations, when known.
    #[prost(double, optional, tag = "5")]
    pub sum: Option<f64>,
    /// Bucket resolution.
    #[prost(sint32, tag = "6")]
    pub scale: i32,
    /// Observations in the zero bucket.
    #[prost(fixed64, tag = "7")]
    pub zero_count: u64,
    /// Buckets above zero.
    #[prost(message, optional, tag = "8")]
    pub positive: Option<Buckets>,
    /// Buckets below zero.
    #[prost(message, optional, tag = "9")]
    pub negative: Option<Buckets>,
    /// Bit 0: no recorded value.
    #[prost(uint32, tag = "10")]
    pub flags: u32,
    /// Exemplars.
    #[prost(message, repeated, tag = "11")]
    pub exemplars: Vec<Exemplar>,
    /// Smallest observation.
    #[prost(double, optional, tag = "12")]
    pub min: Option<f64>,
    /// Largest observation.
    #[prost(double, optional, tag = "13")]
    pub max: Option<f64>,
    /// Width of the zero bucket.
    #[prost(double, tag = "14")]
    pub zero_threshold: f64,
}

/// `ExponentialHistogramDataPoint.Buckets`.
#[derive(Clone, PartialEq, Message)]
pub struct Buckets {
    /// Index of the first bucket.
    #[prost(sint32, tag = "1")]
    pub offset: i32,
    /// Counts of consecutive buckets.
    #[prost(uint64, repeated, tag = "2")]
    pub bucket_counts: Vec<u64>,
}

/// `SummaryDataPoint`.
#[derive(Clone, PartialEq, Message)]
pub struct SummaryDataPoint {
    /// Point attributes (become labels).
    #[prost(message, repeated, tag = "7")]
    pub attributes: Vec<KeyValue>,
    /// Start of the aggregation interval, ns since the epoch.
    #[prost(fixed64, tag = "2")]
    pub start_time_unix_nano: u64,
    /// End of the aggregation interval, ns since the epoch.
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    /// Observations counted.
    #[prost(fixed64, tag = "4")]
    pub count: u64,
    /// Sum of the observations.
    #[prost(double, tag = "5")]
    pub sum: f64,
    /// Quantiles.
    #[prost(message, repeated, tag = "6")]
    pub quantile_values: Vec<ValueAtQuantile>,
    /// Bit 0: no recorded value.
    #[prost(uint32, tag = "8")]
    pub flags: u32,
}

/// `SummaryDataPoint.ValueAtQuantile`.
#[derive(Clone, PartialEq, Message)]
pub struct ValueAtQuantile {
    /// The quantile, 0 to 1.
    #[prost(double, tag = "1")]
    pub quantile: f64,
    /// Its value.
    #[prost(double, tag = "2")]
    pub value: f64,
}

/// `Exemplar`.
#[derive(Clone, PartialEq, Message)]
pub struct Exemplar {
    /// Attributes not already on the point.
    #[prost(message, repeated, tag = "7")]
    pub filtered_attributes: Vec<KeyValue>,
    /// When it was recorded, ns since the epoch.
    #[prost(fixed64, tag = "2")]
    pub time_unix_nano: u64,
    /// The measurement.
    #[prost(oneof = "exemplar::Value", tags = "3, 6")]
    pub value: Option<exemplar::Value>,
    /// Span that recorded it (8 bytes).
    #[prost(bytes = "vec", tag = "4")]
    pub span_id: Vec<u8>,
    /// Trace that recorded it (16 bytes).
    #[prost(bytes = "vec", tag = "5")]
    pub trace_id: Vec<u8>,
}

/// The `Exemplar.value` oneof.
pub mod exemplar {
    use super::Oneof;

    /// An exemplar's value.
    #[derive(Clone, Copy, PartialEq, Oneof)]
    pub enum Value {
        /// `as_double`.
        #[prost(double, tag = "3")]
        AsDouble(f64),
        /// `as_int`.
        #[prost(sfixed64, tag = "6")]
        AsInt(i64),
    }
}

impl KeyValue {
    /// A string attribute, the commonest kind (also handy in tests and fixtures).
    pub fn string(key: impl Into<String>, value: impl Into<String>) -> Self {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(value.into())),
            }),
        }
    }
}
