//! The PromQL oracle suite's queries: what dashboards, alerts and Prometheus's own test files
//! exercise, over the metrics `promql_oracle` writes. `{at}` is replaced by a time inside the
//! data (Unix seconds); the queries that probe the data's edges (a series that stops, a gap,
//! the cold/hot boundary) take their times from [`Edges`].

use std::collections::BTreeSet;

const COUNTER: &str = "http_requests_total";
const GAUGE: &str = "node_temperature_celsius";

/// Where the data's edges lie (Unix milliseconds), for the queries that probe them.
pub(crate) struct Edges {
    /// A whole second inside the data, in its cold part (`{at}`, in seconds).
    pub(crate) at: i64,
    /// The cold/hot boundary: samples before it are in Parquet files, from it on in the hot tier.
    pub(crate) boundary: i64,
    /// Last sample of `stopping_gauge{instance="s0"}` (in the hot part).
    pub(crate) stop_hot: i64,
    /// Last sample of `stopping_gauge{instance="s1"}` (in the cold part).
    pub(crate) stop_cold: i64,
    /// Last sample before, and first sample after, the gap of `gappy_gauge{instance="g0"}`.
    pub(crate) gap_last: i64,
    pub(crate) gap_first: i64,
    /// Last sample of `cold_only_gauge{instance="c0"}`, first of `hot_only_gauge{instance="h0"}`.
    pub(crate) cold_last: i64,
    pub(crate) hot_first: i64,
    /// The millisecond (within its second) of every sample of the data.
    pub(crate) fractions: BTreeSet<i64>,
}

/// Milliseconds as Unix seconds with three decimals.
fn seconds(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

impl Edges {
    /// `t + delta` ms as Unix seconds, moved further from `t` a millisecond at a time until no
    /// sample lies a whole number of seconds away from it: every range, offset and lookback is
    /// whole seconds, so no window boundary meets a sample (Prometheus 2.42 closes windows on
    /// the left, 3.x opens them).
    fn near(&self, t: i64, delta: i64) -> String {
        let step = if delta < 0 { -1 } else { 1 };
        let mut time = t + delta;
        while self.fractions.contains(&time.rem_euclid(1000)) {
            time += step;
        }
        seconds(time)
    }
}

/// One query of the suite, with instant times to run it at besides the suite's two.
pub(crate) struct Case {
    pub(crate) query: String,
    pub(crate) instants: Vec<String>,
}

/// Every query, expanded.
pub(crate) fn queries(edges: &Edges) -> Vec<Case> {
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
    queries.extend(MATCHERS.iter().map(|query| (*query).to_owned()));
    let mut cases: Vec<Case> = queries
        .into_iter()
        .map(|query| Case {
            query,
            instants: Vec::new(),
        })
        .collect();
    cases.extend(edge_cases(edges));
    for case in &mut cases {
        case.query = case.query.replace("{at}", &edges.at.to_string());
    }
    cases
}

/// Matchers: regular expressions (anchored, with alternations, literal prefixes, flags and
/// special characters), negative matchers, `__name__` matchers, and matchers on absent labels.
const MATCHERS: &[&str] = &[
    // Regular expressions: Prometheus anchors them (`^(?:re)$`).
    r#"http_requests_total{method=~"get|post|put"}"#,
    r#"http_requests_total{instance=~"i0|i2|i9"}"#,
    r#"http_requests_total{method=~"g"}"#,
    r#"http_requests_total{method=~"ge"}"#,
    r#"http_requests_total{method=~"et"}"#,
    r#"http_requests_total{method=~".*et"}"#,
    r#"http_requests_total{method=~"g.*|p.*"}"#,
    r#"http_requests_total{method=~"po?st", instance=~"i1"}"#,
    r#"http_requests_total{instance=~"i[0-1]"}"#,
    r#"http_requests_total{instance=~"i\\d", job=~"a.*"}"#,
    r#"http_requests_total{method=~"(?i)GET"}"#,
    r#"http_requests_total{method=~"(?i)GET|Post", job=~"(?i)API"}"#,
    r#"node_temperature_celsius{zone=~"a|b|c", instance=~"i(0|1)"}"#,
    r#"disk_free_bytes{device=~"sd[^a]"}"#,
    r#"route_inflight{path=~"/api/v1/.*"}"#,
    r#"route_inflight{path=~"/api/v1.*"}"#,
    r#"route_inflight{path=~"pre(fix|lude).*"}"#,
    r#"route_inflight{path=~"pre.*"}"#,
    r#"route_inflight{path=~"pre"}"#,
    r#"route_inflight{path=~"/health"}"#,
    r#"route_inflight{path=~"/health.?"}"#,
    r#"route_inflight{path=~"^/health$"}"#,
    r#"route_inflight{path=~"/api/v1\\.1/items"}"#,
    r#"route_inflight{path=~"/api/v1.1/items"}"#,
    r#"route_inflight{path=~"/api/v[12]/users"}"#,
    r#"route_inflight{path=~"/api/(v1|v2)/(users|items)"}"#,
    r#"route_inflight{path=~"a\\+b"}"#,
    r#"route_inflight{path=~"a+b"}"#,
    r#"route_inflight{path=~"\\[x\\]"}"#,
    r#"route_inflight{path=~"[x]"}"#,
    // PromQL raw strings (backticks) take the backslash as it is.
    r#"route_inflight{path=~`\[x\]|a\+b`}"#,
    r#"route_inflight{path!~`/api/v1\..*|.*\|.*`}"#,
    r#"route_inflight{path=~"x\\|y"}"#,
    r#"route_inflight{path=~"x|y"}"#,
    r#"route_inflight{path=~"50% .*"}"#,
    r#"route_inflight{path=~".* .*|.*,.*"}"#,
    r#"route_inflight{path=~"q\\?k=v,w"}"#,
    r#"route_inflight{path=~"ü.*"}"#,
    r#"route_inflight{path=~"(?i)/API/V1/USERS"}"#,
    r#"sum by (path) (route_inflight{path=~".*users"})"#,
    r#"absent(route_inflight{path=~"nothing.*", priority="high"})"#,
    r#"request_duration_seconds_bucket{le=~"0\\.5|\\+Inf"}"#,
    r#"request_duration_seconds_bucket{le=~"0.5|1"}"#,
    r#"request_duration_seconds_bucket{le=~".*\\..*", job="api"}"#,
    // Negative regular expressions, alone and with = and !=.
    r#"http_requests_total{method!~"get"}"#,
    r#"http_requests_total{instance!~"i0|i1"}"#,
    r#"http_requests_total{method!~"g"}"#,
    r#"http_requests_total{job="api", method!~"p.*"}"#,
    r#"http_requests_total{job!="web", instance!~"i[12]"}"#,
    r#"http_requests_total{method!~".*"}"#,
    r#"http_requests_total{method!~""}"#,
    r#"node_temperature_celsius{zone!~"a", instance!="i1"}"#,
    r#"disk_free_bytes{device!~"sd[a]", instance=~"i0|i2"}"#,
    r#"route_inflight{path!~"/api/.*"}"#,
    r#"route_inflight{path!~"/api/.*|/health.*|pre.*"}"#,
    r#"route_inflight{path!~"a+b"}"#,
    r#"request_duration_seconds_bucket{le!~"\\+Inf|0\\..*"}"#,
    r#"sum by (job) (rate(http_requests_total{instance!~"i0"}[5m]))"#,
    // Metric names as a label.
    r#"{__name__=~"http_.*|node_.*"}"#,
    r#"{__name__=~".+_total"}"#,
    r#"{__name__=~"request_duration_seconds_(sum|count)"}"#,
    r#"{__name__=~"http_requests_tota"}"#,
    r#"{__name__=~"HTTP_.*"}"#,
    r#"{__name__=~"(?i)HTTP_REQUESTS_TOTAL", method="get"}"#,
    r#"{__name__=~"node_temperature_celsius|disk_free_bytes", instance="i1"}"#,
    r#"{__name__!~"http_.*", job="api"}"#,
    r#"{__name__!~".*_bucket|.*_total", job=~".+"}"#,
    r#"{__name__!="http_requests_total", __name__=~"http_.*|node_.*"}"#,
    r#"{instance="i0", __name__!~"disk_.*|http_.*"}"#,
    r#"{__name__=~"http_requests_.*"} offset 5m"#,
    r#"count by (__name__) ({__name__=~".+", instance=~"i.*"})"#,
    r#"sum by (__name__) ({__name__=~"node_.*|disk_.*"})"#,
    r#"rate({__name__=~"http_requests_total|tier_events_total"}[5m])"#,
    // Matchers that match the empty string: a label that is absent has the empty value.
    r#"route_inflight{priority=""}"#,
    r#"route_inflight{priority!=""}"#,
    r#"route_inflight{priority=~""}"#,
    r#"route_inflight{priority=~"|high"}"#,
    r#"route_inflight{priority=~"high|"}"#,
    r#"route_inflight{priority!~".+"}"#,
    r#"route_inflight{priority!~""}"#,
    r#"route_inflight{priority!="high"}"#,
    r#"route_inflight{priority!~"high"}"#,
    r#"route_inflight{priority!~"h.*|"}"#,
    r#"route_inflight{priority=~".*"}"#,
    r#"route_inflight{priority=~".+"}"#,
    r#"route_inflight{path!="", priority=""}"#,
    r#"{__name__="route_inflight", priority="", path=~"/.*"}"#,
    r#"count by (priority) (route_inflight)"#,
    r#"sum by (priority) (route_inflight{priority=~"low|"})"#,
    r#"http_requests_total{job="api", missing_label=""}"#,
    r#"http_requests_total{missing_label!=""}"#,
    r#"http_requests_total{missing_label=~".*", job="web"}"#,
    r#"http_requests_total{missing_label!~".+", method="get"}"#,
    r#"http_requests_total{method=~"get|", instance!~""}"#,
    r#"{__name__=~"node_.*", job=""}"#,
];

/// Lookback and staleness around a series that stops and one with a gap, and the cold/hot
/// boundary, with instant queries just inside and just outside each edge.
fn edge_cases(edges: &Edges) -> Vec<Case> {
    let near = |t: i64, delta: i64| edges.near(t, delta);
    let exact = seconds;
    let (stop_hot, stop_cold) = (edges.stop_hot, edges.stop_cold);
    let (gap_last, gap_first) = (edges.gap_last, edges.gap_first);
    let (boundary, cold_last, hot_first) = (edges.boundary, edges.cold_last, edges.hot_first);
    let lookback = 300_000;
    let case = |query: String, instants: Vec<String>| Case { query, instants };
    let plain = |query: &str| Case {
        query: query.to_owned(),
        instants: Vec::new(),
    };
    vec![
        // A series that stops: present for the 5-minute lookback after its last sample.
        case(
            "stopping_gauge".into(),
            vec![
                near(stop_hot, lookback - 100),
                near(stop_hot, lookback + 100),
                near(stop_cold, lookback - 100),
                near(stop_cold, lookback + 100),
            ],
        ),
        case(
            format!("stopping_gauge @ {}", near(stop_hot, lookback - 100)),
            vec![],
        ),
        case(
            format!("stopping_gauge @ {}", near(stop_hot, lookback + 100)),
            vec![],
        ),
        // `@` exactly at the last sample, and a millisecond before it (the sample before).
        case(format!("stopping_gauge @ {}", exact(stop_hot)), vec![]),
        case(format!("stopping_gauge @ {}", near(stop_hot, -1)), vec![]),
        case(
            format!("stopping_gauge{{instance=\"s1\"}} @ {}", exact(stop_cold)),
            vec![],
        ),
        case(
            format!("last_over_time(stopping_gauge[1m] @ {})", exact(stop_hot)),
            vec![],
        ),
        case(
            "last_over_time(stopping_gauge[10m])".into(),
            vec![near(stop_hot, 599_900), near(stop_hot, 600_100)],
        ),
        plain("last_over_time(stopping_gauge[30m])"),
        case(
            "stopping_gauge offset 5m".into(),
            vec![near(stop_hot, 599_900), near(stop_hot, 600_100)],
        ),
        case(
            "timestamp(stopping_gauge)".into(),
            vec![near(stop_hot, lookback - 100)],
        ),
        case(
            "absent(stopping_gauge{instance=\"s0\"})".into(),
            vec![
                near(stop_hot, lookback - 100),
                near(stop_hot, lookback + 100),
            ],
        ),
        case(
            "absent_over_time(stopping_gauge{instance=\"s0\"}[3m])".into(),
            vec![near(stop_hot, 179_900), near(stop_hot, 180_100)],
        ),
        plain("count_over_time(stopping_gauge[5m])"),
        plain("max_over_time(stopping_gauge[20m:1m])"),
        plain("stopping_gauge @ end()"),
        // A gap longer than the lookback: the series is absent inside it.
        case(
            "gappy_gauge".into(),
            vec![
                near(gap_last, lookback - 100),
                near(gap_last, lookback + 100),
                near(gap_first, -100),
                exact(gap_first),
            ],
        ),
        case(
            format!("gappy_gauge @ {}", near(gap_last, lookback - 100)),
            vec![],
        ),
        case(
            format!("gappy_gauge @ {}", near(gap_last, lookback + 100)),
            vec![],
        ),
        case(format!("gappy_gauge @ {}", near(gap_first, -1)), vec![]),
        case(format!("gappy_gauge @ {}", exact(gap_first)), vec![]),
        case(
            "gappy_gauge offset 10m".into(),
            vec![near(gap_last, 899_900), near(gap_last, 900_100)],
        ),
        case(
            "last_over_time(gappy_gauge[10m])".into(),
            vec![near(gap_last, 599_900), near(gap_last, 600_100)],
        ),
        plain("last_over_time(gappy_gauge[15m] offset 3m)"),
        case(
            "absent(gappy_gauge{instance=\"g0\"})".into(),
            vec![near(gap_last, lookback + 100), near(gap_first, -100)],
        ),
        plain("absent_over_time(gappy_gauge{instance=\"g0\"}[5m])"),
        plain("absent_over_time(gappy_gauge{instance=\"g0\"}[10m])"),
        plain("present_over_time(gappy_gauge[7m])"),
        plain("count_over_time(gappy_gauge[5m])"),
        plain("changes(gappy_gauge[15m])"),
        case(
            "timestamp(gappy_gauge)".into(),
            vec![near(gap_last, lookback - 100)],
        ),
        plain("sum(gappy_gauge)"),
        plain("count(gappy_gauge)"),
        plain("deriv(gappy_gauge[15m])"),
        plain("idelta(gappy_gauge[10m])"),
        plain("delta(gappy_gauge[20m])"),
        plain("max_over_time(gappy_gauge[20m:1m])"),
        plain("rate(gappy_total[5m])"),
        plain("rate(gappy_total[20m])"),
        plain("increase(gappy_total[15m])"),
        plain("irate(gappy_total[10m])"),
        case(
            format!("rate(gappy_total[20m] @ {})", near(gap_first, 600_100)),
            vec![],
        ),
        // Series wholly in the cold tier, wholly in the hot tier, and across the boundary.
        case(
            "cold_only_gauge".into(),
            vec![
                near(boundary, -100),
                near(boundary, 100),
                near(cold_last, lookback - 100),
                near(cold_last, lookback + 100),
            ],
        ),
        case(
            "hot_only_gauge".into(),
            vec![near(hot_first, -100), exact(hot_first)],
        ),
        case(
            "tier_mixed".into(),
            vec![near(boundary, -100), near(boundary, 100)],
        ),
        case(
            "max by (zone) (node_temperature_celsius)".into(),
            vec![near(boundary, -100), near(boundary, 100)],
        ),
        case(
            "rate(tier_events_total[5m])".into(),
            vec![near(boundary, 100), near(boundary, 150_000)],
        ),
        case(format!("tier_mixed @ {}", near(boundary, -100)), vec![]),
        case(format!("tier_mixed @ {}", near(boundary, 100)), vec![]),
        case(
            format!(
                "sum_over_time(tier_mixed[10m] @ {})",
                near(boundary, 300_000)
            ),
            vec![],
        ),
        plain("sum by (part) (tier_mixed)"),
        plain("count(tier_mixed)"),
        plain("tier_mixed{part=\"cold\"}"),
        plain("rate(tier_events_total[20m])"),
        plain("rate(tier_events_total[1h])"),
        plain("increase(tier_events_total{part=\"both\"}[40m])"),
        plain("irate(tier_events_total[2m])"),
        plain("resets(tier_events_total[50m])"),
        plain("max_over_time(cold_only_gauge[50m])"),
        plain("min_over_time(tier_mixed[45m])"),
        plain("count_over_time(tier_mixed[1h])"),
        plain("last_over_time(cold_only_gauge[30m])"),
        plain("sum_over_time(hot_only_gauge[10m])"),
        plain("avg_over_time(tier_mixed{part=\"both\"}[40m])"),
        plain("quantile_over_time(0.5, tier_mixed[35m])"),
        plain("changes(tier_mixed[50m])"),
        plain("tier_mixed offset 30m"),
        plain("hot_only_gauge offset 20m"),
        plain("cold_only_gauge @ {at}"),
        plain("tier_mixed @ start()"),
        plain("tier_mixed @ end()"),
        plain("tier_mixed - tier_mixed offset 10m"),
        plain("cold_only_gauge or hot_only_gauge"),
        plain("tier_mixed and on(part) tier_mixed offset 25m"),
        plain("timestamp(cold_only_gauge)"),
        plain("absent(cold_only_gauge)"),
        plain("absent_over_time(hot_only_gauge[10m])"),
        plain("max_over_time(sum(tier_mixed)[40m:1m])"),
        plain("{__name__=~\"cold_only_gauge|hot_only_gauge\"}"),
        plain("{part=~\"cold|hot\"}"),
        plain("rate(http_requests_total[40m])"),
        plain("sum by (job) (increase(http_requests_total[50m]))"),
        plain("histogram_quantile(0.9, sum by (le) (rate(request_duration_seconds_bucket[30m])))"),
        plain("max_over_time(sparse_metric[50m])"),
    ]
}
