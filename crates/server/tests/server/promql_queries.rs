//! The PromQL oracle suite's queries: what dashboards, alerts and Prometheus's own test files
//! exercise, over the metrics `promql_oracle` writes. `{at}` is replaced by a time inside the
//! data (Unix seconds).

const COUNTER: &str = "http_requests_total";
const GAUGE: &str = "node_temperature_celsius";

/// Every query, expanded.
pub(crate) fn queries(at_seconds: i64) -> Vec<String> {
    let mut queries: Vec<String> = [
        // Selectors and matchers.
        "http_requests_total",
        "http_requests_total{job=\"api\"}",
        "http_requests_total{job!=\"api\"}",
        "http_requests_total{method=~\"g.*\"}",
        "http_requests_total{method!~\"g.*\", job=\"web\"}",
        "http_requests_total{instance=~\"i0|i1\"}",
        "{__name__=~\"node_.*\"}",
        "{__name__=\"disk_free_bytes\", device!=\"sda\"}",
        "sparse_metric",
        "node_temperature_celsius offset 5m",
        "node_temperature_celsius offset 17m",
        "node_temperature_celsius @ {at}",
        "node_temperature_celsius @ start()",
        "node_temperature_celsius @ end()",
        "rate(http_requests_total[5m] @ {at})",
        "rate(http_requests_total[5m] offset 10m)",
        "-node_temperature_celsius",
        "disk_free_bytes / 1e9",
        // Literals, scalars and time.
        "1 + 1",
        "2 ^ 3 ^ 2",
        "-2 ^ 2",
        "10 % 3",
        "time()",
        "vector(1)",
        "vector(time())",
        "scalar(sum(node_temperature_celsius))",
        "node_temperature_celsius - scalar(avg(node_temperature_celsius))",
        "timestamp(node_temperature_celsius)",
        "timestamp(sparse_metric)",
        // Arithmetic and comparisons.
        "node_temperature_celsius * 2 + 1",
        "node_temperature_celsius % 3",
        "node_temperature_celsius ^ 2",
        "max by (instance) (node_temperature_celsius) atan2 10",
        "node_temperature_celsius > 20",
        "node_temperature_celsius > bool 20",
        "20 < node_temperature_celsius",
        "node_temperature_celsius == bool node_temperature_celsius",
        "node_temperature_celsius != 21.5",
        "node_temperature_celsius <= bool 21",
        "disk_free_bytes >= 5e8",
        // Vector matching.
        "rate(http_requests_total[5m]) / ignoring(method) group_left sum without (method) (rate(http_requests_total[5m]))",
        "sum by (job) (rate(http_requests_total{method=\"get\"}[5m])) / sum by (job) (rate(http_requests_total[5m]))",
        "max by (instance) (node_temperature_celsius) * on(instance) group_right http_requests_total",
        "http_requests_total * on(instance) group_left(zone) max by (instance, zone) (node_temperature_celsius{zone=\"a\"})",
        "node_temperature_celsius - on(instance, zone) node_temperature_celsius offset 5m",
        "sum by (instance) (http_requests_total) > on(instance) sum by (instance) (disk_free_bytes) / 1e8",
        "http_requests_total{job=\"api\"} and on(instance) node_temperature_celsius{zone=\"a\"}",
        "sparse_metric or node_temperature_celsius",
        "node_temperature_celsius unless on(instance) sparse_metric",
        "http_requests_total and http_requests_total{method=\"post\"}",
        "http_requests_total unless http_requests_total{method=\"post\"}",
        "sum by (job) (http_requests_total) or vector(0)",
        // Aggregations beyond the grid below.
        "topk(2, http_requests_total)",
        "bottomk(2, http_requests_total)",
        "topk by (job) (1, rate(http_requests_total[5m]))",
        "bottomk without (method) (1, rate(http_requests_total[5m]))",
        "quantile(0.5, node_temperature_celsius)",
        "quantile by (zone) (0.9, node_temperature_celsius)",
        "count_values(\"value\", round(node_temperature_celsius))",
        "count_values by (zone) (\"t\", round(node_temperature_celsius))",
        "sum(http_requests_total) by (job)",
        "count(count by (instance) (http_requests_total))",
        "sum(rate(http_requests_total[5m])) * 60",
        "avg by (zone) (node_temperature_celsius) - min by (zone) (node_temperature_celsius)",
        // Math and labels.
        "abs(-node_temperature_celsius)",
        "ceil(node_temperature_celsius)",
        "floor(node_temperature_celsius)",
        "round(node_temperature_celsius)",
        "round(node_temperature_celsius, 0.5)",
        "sqrt(node_temperature_celsius)",
        "exp(node_temperature_celsius / 10)",
        "ln(node_temperature_celsius)",
        "log2(disk_free_bytes)",
        "log10(disk_free_bytes)",
        "sgn(node_temperature_celsius - 21)",
        "clamp(node_temperature_celsius, 20, 22)",
        "clamp_min(node_temperature_celsius, 21)",
        "clamp_max(node_temperature_celsius, 21)",
        "label_replace(node_temperature_celsius, \"z\", \"zone-$1\", \"zone\", \"(.*)\")",
        "label_replace(http_requests_total, \"host\", \"$1\", \"instance\", \"i(.)\")",
        "label_join(node_temperature_celsius, \"joined\", \"-\", \"instance\", \"zone\")",
        "absent(nonexistent_metric{job=\"x\"})",
        "absent(node_temperature_celsius)",
        "absent_over_time(nonexistent_metric[5m])",
        "absent_over_time(sparse_metric[5m])",
        "sort(node_temperature_celsius)",
        "sort_desc(sum by (job) (http_requests_total))",
        // Dates.
        "hour()",
        "minute()",
        "day_of_week()",
        "day_of_month()",
        "day_of_year()",
        "days_in_month()",
        "month()",
        "year()",
        "hour(timestamp(node_temperature_celsius))",
        "minute(vector({at}))",
        // Histograms.
        "histogram_quantile(0.5, sum by (le, job) (rate(request_duration_seconds_bucket[5m])))",
        "histogram_quantile(0.9, sum by (le, job) (rate(request_duration_seconds_bucket[5m])))",
        "histogram_quantile(0.99, sum by (le) (rate(request_duration_seconds_bucket[10m])))",
        "histogram_quantile(0.9, rate(request_duration_seconds_bucket[5m]))",
        "histogram_quantile(0.25, request_duration_seconds_bucket)",
        "rate(request_duration_seconds_sum[5m]) / rate(request_duration_seconds_count[5m])",
        // Subqueries.
        "max_over_time(rate(http_requests_total[5m])[30m:1m])",
        "avg_over_time(node_temperature_celsius[10m:30s])",
        "min_over_time(sum(node_temperature_celsius)[15m:])",
        "rate(sum(http_requests_total)[10m:1m])",
        "max_over_time(deriv(node_temperature_celsius[5m])[20m:2m] offset 3m)",
        "predict_linear(node_temperature_celsius[10m], 600)",
        "predict_linear(disk_free_bytes[15m], 3600)",
        "deriv(disk_free_bytes[10m])",
    ]
    .iter()
    .map(|query| (*query).to_owned())
    .collect();

    // Range functions over several windows.
    for range in ["1m", "5m", "13m"] {
        for function in ["rate", "irate", "increase", "resets"] {
            queries.push(format!("{function}({COUNTER}[{range}])"));
        }
        for function in [
            "delta",
            "idelta",
            "deriv",
            "changes",
            "avg_over_time",
            "min_over_time",
            "max_over_time",
            "sum_over_time",
            "count_over_time",
            "last_over_time",
            "stddev_over_time",
            "stdvar_over_time",
            "present_over_time",
        ] {
            queries.push(format!("{function}({GAUGE}[{range}])"));
        }
        queries.push(format!("quantile_over_time(0.9, {GAUGE}[{range}])"));
    }
    // Every aggregation with each grouping.
    for aggregation in [
        "sum", "avg", "min", "max", "count", "stddev", "stdvar", "group",
    ] {
        for grouping in ["", " by (job)", " without (instance)"] {
            queries.push(format!("{aggregation}{grouping} (rate({COUNTER}[5m]))"));
        }
    }
    queries
        .into_iter()
        .map(|query| query.replace("{at}", &at_seconds.to_string()))
        .collect()
}
