//! Mirror structs → prost messages. A oneof with more than one member set is an error, as in
//! proto3 JSON parsers.

use super::*;
use crate::otlp::proto::{any_value, metric, number_data_point};

/// Converts each element, stopping at the first error.
fn convert<T: TryInto<U, Error = String>, U>(items: Vec<T>) -> Result<Vec<U>, String> {
    items.into_iter().map(TryInto::try_into).collect()
}

/// The one value of a oneof, or an error naming the message when several are set.
fn one_of<T>(message: &str, candidates: Vec<Option<T>>) -> Result<Option<T>, String> {
    let mut set = candidates.into_iter().flatten();
    let first = set.next();
    if set.next().is_some() {
        return Err(format!(
            "{message} has more than one of its oneof fields set"
        ));
    }
    Ok(first)
}

impl TryFrom<RequestJson> for proto::ExportMetricsServiceRequest {
    type Error = String;
    fn try_from(json: RequestJson) -> Result<Self, String> {
        Ok(Self {
            resource_metrics: convert(json.resource_metrics)?,
        })
    }
}

impl TryFrom<ResourceMetricsJson> for proto::ResourceMetrics {
    type Error = String;
    fn try_from(json: ResourceMetricsJson) -> Result<Self, String> {
        Ok(Self {
            resource: json.resource.map(TryInto::try_into).transpose()?,
            scope_metrics: convert(json.scope_metrics)?,
            schema_url: json.schema_url,
        })
    }
}

impl TryFrom<ResourceJson> for proto::Resource {
    type Error = String;
    fn try_from(json: ResourceJson) -> Result<Self, String> {
        Ok(Self {
            attributes: convert(json.attributes)?,
            dropped_attributes_count: json.dropped_attributes_count,
        })
    }
}

impl TryFrom<ScopeMetricsJson> for proto::ScopeMetrics {
    type Error = String;
    fn try_from(json: ScopeMetricsJson) -> Result<Self, String> {
        Ok(Self {
            scope: json.scope.map(TryInto::try_into).transpose()?,
            metrics: convert(json.metrics)?,
            schema_url: json.schema_url,
        })
    }
}

impl TryFrom<ScopeJson> for proto::InstrumentationScope {
    type Error = String;
    fn try_from(json: ScopeJson) -> Result<Self, String> {
        Ok(Self {
            name: json.name,
            version: json.version,
            attributes: convert(json.attributes)?,
            dropped_attributes_count: json.dropped_attributes_count,
        })
    }
}

impl TryFrom<KeyValueJson> for proto::KeyValue {
    type Error = String;
    fn try_from(json: KeyValueJson) -> Result<Self, String> {
        Ok(Self {
            key: json.key,
            value: json.value.map(TryInto::try_into).transpose()?,
        })
    }
}

impl TryFrom<AnyValueJson> for proto::AnyValue {
    type Error = String;
    fn try_from(json: AnyValueJson) -> Result<Self, String> {
        use any_value::Value;
        let array = match json.array_value {
            Some(array) => Some(Value::ArrayValue(proto::ArrayValue {
                values: convert(array.values)?,
            })),
            None => None,
        };
        let kvlist = match json.kvlist_value {
            Some(kvlist) => Some(Value::KvlistValue(proto::KeyValueList {
                values: convert(kvlist.values)?,
            })),
            None => None,
        };
        let candidates = vec![
            json.string_value.map(Value::StringValue),
            json.bool_value.map(Value::BoolValue),
            json.int_value.map(Value::IntValue),
            json.double_value.map(Value::DoubleValue),
            array,
            kvlist,
            json.bytes_value.map(Value::BytesValue),
        ];
        Ok(Self {
            value: one_of("AnyValue", candidates)?,
        })
    }
}

impl TryFrom<MetricJson> for proto::Metric {
    type Error = String;
    fn try_from(json: MetricJson) -> Result<Self, String> {
        use metric::Data;
        let gauge = match json.gauge {
            Some(gauge) => Some(Data::Gauge(proto::Gauge {
                data_points: convert(gauge.data_points)?,
            })),
            None => None,
        };
        let sum = match json.sum {
            Some(sum) => Some(Data::Sum(proto::Sum {
                data_points: convert(sum.data_points)?,
                aggregation_temporality: sum.aggregation_temporality,
                is_monotonic: sum.is_monotonic,
            })),
            None => None,
        };
        let histogram = match json.histogram {
            Some(histogram) => Some(Data::Histogram(proto::Histogram {
                data_points: convert(histogram.data_points)?,
                aggregation_temporality: histogram.aggregation_temporality,
            })),
            None => None,
        };
        let exponential = match json.exponential_histogram {
            Some(histogram) => Some(Data::ExponentialHistogram(proto::ExponentialHistogram {
                data_points: convert(histogram.data_points)?,
                aggregation_temporality: histogram.aggregation_temporality,
            })),
            None => None,
        };
        let summary = match json.summary {
            Some(summary) => Some(Data::Summary(proto::Summary {
                data_points: convert(summary.data_points)?,
            })),
            None => None,
        };
        let data = one_of(
            &format!("metric {:?}", json.name),
            vec![gauge, sum, histogram, exponential, summary],
        )?;
        Ok(Self {
            name: json.name,
            description: json.description,
            unit: json.unit,
            data,
            metadata: convert(json.metadata)?,
        })
    }
}

impl TryFrom<NumberPointJson> for proto::NumberDataPoint {
    type Error = String;
    fn try_from(json: NumberPointJson) -> Result<Self, String> {
        let candidates = vec![
            json.as_double.map(number_data_point::Value::AsDouble),
            json.as_int.map(number_data_point::Value::AsInt),
        ];
        Ok(Self {
            attributes: convert(json.attributes)?,
            start_time_unix_nano: json.start_time_unix_nano,
            time_unix_nano: json.time_unix_nano,
            value: one_of("NumberDataPoint", candidates)?,
            exemplars: convert(json.exemplars)?,
            flags: json.flags,
        })
    }
}

impl TryFrom<HistogramPointJson> for proto::HistogramDataPoint {
    type Error = String;
    fn try_from(json: HistogramPointJson) -> Result<Self, String> {
        Ok(Self {
            attributes: convert(json.attributes)?,
            start_time_unix_nano: json.start_time_unix_nano,
            time_unix_nano: json.time_unix_nano,
            count: json.count,
            sum: json.sum,
            bucket_counts: json.bucket_counts,
            explicit_bounds: json.explicit_bounds,
            exemplars: convert(json.exemplars)?,
            flags: json.flags,
            min: json.min,
            max: json.max,
        })
    }
}

impl TryFrom<ExponentialPointJson> for proto::ExponentialHistogramDataPoint {
    type Error = String;
    fn try_from(json: ExponentialPointJson) -> Result<Self, String> {
        let buckets = |buckets: BucketsJson| proto::Buckets {
            offset: buckets.offset,
            bucket_counts: buckets.bucket_counts,
        };
        Ok(Self {
            attributes: convert(json.attributes)?,
            start_time_unix_nano: json.start_time_unix_nano,
            time_unix_nano: json.time_unix_nano,
            count: json.count,
            sum: json.sum,
            scale: json.scale,
            zero_count: json.zero_count,
            positive: json.positive.map(buckets),
            negative: json.negative.map(buckets),
            flags: json.flags,
            exemplars: convert(json.exemplars)?,
            min: json.min,
            max: json.max,
            zero_threshold: json.zero_threshold,
        })
    }
}

impl TryFrom<SummaryPointJson> for proto::SummaryDataPoint {
    type Error = String;
    fn try_from(json: SummaryPointJson) -> Result<Self, String> {
        Ok(Self {
            attributes: convert(json.attributes)?,
            start_time_unix_nano: json.start_time_unix_nano,
            time_unix_nano: json.time_unix_nano,
            count: json.count,
            sum: json.sum,
            quantile_values: json
                .quantile_values
                .into_iter()
                .map(|quantile| proto::ValueAtQuantile {
                    quantile: quantile.quantile,
                    value: quantile.value,
                })
                .collect(),
            flags: json.flags,
        })
    }
}

impl TryFrom<ExemplarJson> for proto::Exemplar {
    type Error = String;
    fn try_from(json: ExemplarJson) -> Result<Self, String> {
        use proto::exemplar::Value;
        let candidates = vec![
            json.as_double.map(Value::AsDouble),
            json.as_int.map(Value::AsInt),
        ];
        Ok(Self {
            filtered_attributes: convert(json.filtered_attributes)?,
            time_unix_nano: json.time_unix_nano,
            value: one_of("Exemplar", candidates)?,
            span_id: json.span_id,
            trace_id: json.trace_id,
        })
    }
}
