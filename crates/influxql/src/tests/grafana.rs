//! Queries as Grafana (InfluxQL mode), Chronograf and the `influx` shell send them, with
//! Grafana's macros already expanded as it does before sending.

use super::{canonical, parse_one, parses, select};
use crate::ast::{
    BinaryOp, Expr, Fill, GroupByTime, GroupByTimeOffset, MeasurementName, Source, Statement,
    TagKeyFilter,
};
use crate::{TimeRange, parse};

const NOW: i64 = 1_700_003_600_000_000_000;

#[test]
fn grafana_default_query_with_time_filter_and_interval() {
    let q = select(
        r#"SELECT mean("usage_user") FROM "cpu" WHERE ("host" =~ /^server$/) AND time >= 1700000000000ms and time <= 1700003600000ms GROUP BY time(10s) fill(null)"#,
    );
    assert_eq!(q.fields.len(), 1);
    assert_eq!(q.fields[0].expr.to_string(), "mean(usage_user)");
    assert_eq!(q.fill, Some(Fill::Null));
    assert_eq!(
        q.group_by_time().unwrap(),
        Some(GroupByTime {
            interval: 10_000_000_000,
            offset: GroupByTimeOffset::Duration(0)
        })
    );
    let (rest, range) = q.split_time_condition(NOW).unwrap();
    assert_eq!(
        range,
        TimeRange {
            min: Some(1_700_000_000_000_000_000),
            max: Some(1_700_003_600_000_000_000)
        }
    );
    assert_eq!(rest.unwrap().to_string(), "(host =~ /^server$/)");
    assert!(!q.is_raw_query());
    assert!(q.is_aggregate());
}

#[test]
fn grafana_non_negative_derivative_times_eight_grouped_by_host() {
    let q = select(
        r#"SELECT non_negative_derivative(mean("bytes_recv"), 1s) *8 FROM "net" WHERE ("host" =~ /^server$/) AND time >= 1700000000000ms and time <= 1700003600000ms GROUP BY time(1m), "host" fill(none)"#,
    );
    let Expr::Binary(product) = &q.fields[0].expr else {
        panic!("{:?}", q.fields[0].expr);
    };
    assert_eq!(product.op, BinaryOp::Mul);
    assert_eq!(product.rhs, Expr::Integer(8));
    assert_eq!(
        product.lhs.to_string(),
        "non_negative_derivative(mean(bytes_recv), 1s)"
    );
    assert_eq!(q.group_by_tags(), vec!["host"]);
    assert_eq!(q.fill, Some(Fill::None));
}

#[test]
fn grafana_metadata_queries() {
    assert!(matches!(
        parse_one("SHOW MEASUREMENTS LIMIT 1"),
        Statement::ShowMeasurements(s) if s.limit == Some(1)
    ));
    let Statement::ShowTagKeys(keys) = parse_one(r#"SHOW TAG KEYS FROM "cpu""#) else {
        panic!()
    };
    assert_eq!(keys.sources.len(), 1);
    let Statement::ShowTagValues(values) =
        parse_one(r#"SHOW TAG VALUES FROM "cpu" WITH KEY = "host" WHERE "region" =~ /^us$/"#)
    else {
        panic!()
    };
    assert_eq!(values.key, TagKeyFilter::Eq("host".into()));
    assert_eq!(
        values.condition.unwrap().to_string(),
        "region =~ /^us$/".to_string()
    );
    assert!(matches!(
        parse_one(r#"SHOW FIELD KEYS FROM "cpu""#),
        Statement::ShowFieldKeys(s) if s.sources.len() == 1
    ));
    assert_eq!(
        parse_one(r#"SHOW RETENTION POLICIES on "telegraf""#),
        Statement::ShowRetentionPolicies {
            database: Some("telegraf".into())
        }
    );
}

#[test]
fn chronograf_show_databases() {
    assert_eq!(
        parse("SHOW DATABASES").unwrap(),
        vec![Statement::ShowDatabases]
    );
    assert_eq!(
        parse("show databases").unwrap(),
        vec![Statement::ShowDatabases]
    );
}

#[test]
fn grafana_measurement_search_regex() {
    let Statement::ShowMeasurements(show) =
        parse_one("SHOW MEASUREMENTS WITH MEASUREMENT =~ /(?i)cpu/ LIMIT 100")
    else {
        panic!()
    };
    let source = show.source.unwrap();
    assert!(matches!(&source.name, MeasurementName::Regex(re) if re.regex().is_match("CPU")));
    assert_eq!(show.limit, Some(100));
}

#[test]
fn grafana_raw_query_ordered_descending() {
    let q = select(
        r#"SELECT "value" FROM "autogen"."temperature" WHERE time >= 1700000000000ms and time <= 1700003600000ms ORDER BY time DESC LIMIT 1"#,
    );
    assert!(q.is_raw_query());
    assert_eq!(q.order_by.map(|o| o.ascending), Some(false));
    let Source::Measurement(m) = &q.sources[0] else {
        panic!()
    };
    assert_eq!(m.retention_policy.as_deref(), Some("autogen"));
    assert_eq!(m.name, MeasurementName::Name("temperature".into()));
}

#[test]
fn grafana_tz_and_alias() {
    let q = select(
        r#"SELECT mean("usage_idle") AS "idle" FROM "cpu" WHERE time >= now() - 7d GROUP BY time(1d) fill(null) tz('America/Chicago')"#,
    );
    assert_eq!(q.timezone.as_deref(), Some("America/Chicago"));
    assert_eq!(q.fields[0].alias.as_deref(), Some("idle"));
    assert_eq!(
        q.time_range(NOW).unwrap().min,
        Some(NOW - 7 * 86_400_000_000_000)
    );
}

#[test]
fn grafana_multi_value_variable_regex() {
    let q = select(
        r#"SELECT mean("value") FROM "cpu" WHERE ("host" =~ /^(server1|server\.example\.com)$/) AND time >= now() - 1h GROUP BY time(200ms) fill(null)"#,
    );
    assert_eq!(
        q.condition_refs()
            .iter()
            .map(|v| v.name.as_str())
            .collect::<Vec<_>>(),
        vec!["host"]
    );
    let rest = q.split_time_condition(NOW).unwrap().0.unwrap();
    let Expr::Paren(inner) = rest else { panic!() };
    let Expr::Binary(cmp) = *inner else { panic!() };
    let Expr::Regex(re) = &cmp.rhs else { panic!() };
    assert!(re.regex().is_match("server.example.com"));
    assert!(!re.regex().is_match("serverXexample.com"));
}

#[test]
fn canonical_text_of_a_grafana_query() {
    assert_eq!(
        canonical(
            r#"SELECT mean("usage_user") FROM "cpu" WHERE ("host" =~ /^server$/) AND time >= 1700000000000ms and time <= 1700003600000ms GROUP BY time(10s) fill(null)"#
        ),
        "SELECT mean(usage_user) FROM cpu WHERE (host =~ /^server$/) AND time >= 1700000000s \
         AND time <= 1700003600s GROUP BY time(10s) fill(null)"
    );
}

parses! {
    grafana_tag_cast: r#"SELECT mean("value") FROM "cpu" WHERE ("host"::tag = 'web-1') AND time >= 1700000000000ms and time <= 1700003600000ms GROUP BY time(1m) fill(null)"#,
    grafana_field_cast: r#"SELECT last("value"::field) FROM "temp" WHERE ("location" = 'office') AND time >= now() - 6h GROUP BY time(1m) fill(previous)"#,
    grafana_percentile: r#"SELECT percentile("latency", 95) FROM "http" WHERE time >= now() - 1h GROUP BY time(1m) fill(linear)"#,
    grafana_top: r#"SELECT top("value", "host", 3) FROM "cpu" WHERE time >= now() - 1h"#,
    grafana_moving_average: r#"SELECT moving_average(mean("value"), 3) FROM "cpu" WHERE time >= now() - 1h GROUP BY time(1m)"#,
    grafana_derivative: r#"SELECT derivative(mean("x"), 1s) FROM "m" WHERE time >= now() - 1h GROUP BY time(10s)"#,
    grafana_math_on_aggregate: r#"SELECT mean("used") / mean("total") * 100 AS "percent" FROM "mem" WHERE time >= now() - 1h GROUP BY time(1m) fill(0)"#,
    grafana_count_distinct: r#"SELECT count(distinct("user")) FROM "logins" WHERE time >= now() - 24h GROUP BY time(1h)"#,
    grafana_distinct_bare: r#"SELECT distinct "user" FROM "logins""#,
    grafana_subquery: r#"SELECT max("mean") FROM (SELECT mean("value") FROM "cpu" WHERE time >= now() - 1h GROUP BY time(1m)) WHERE time >= now() - 1h"#,
    grafana_group_by_star: r#"SELECT mean("value") FROM "cpu" WHERE time >= now() - 1h GROUP BY time(1m), * fill(null)"#,
    grafana_group_by_offset: r#"SELECT mean("value") FROM "cpu" WHERE time >= now() - 1d GROUP BY time(1h, 30m) fill(null)"#,
    grafana_group_by_negative_offset: r#"SELECT mean("value") FROM "cpu" WHERE time >= now() - 1d GROUP BY time(10s, -5s)"#,
    grafana_tag_values_in: r#"SHOW TAG VALUES FROM "cpu" WITH KEY IN ("host", "region")"#,
    grafana_tag_values_regex_key: r#"SHOW TAG VALUES WITH KEY =~ /^(host|region)$/"#,
    grafana_tag_values_whole_db: r#"SHOW TAG VALUES WITH KEY = "host""#,
    grafana_measurements_whole: "SHOW MEASUREMENTS",
    grafana_field_keys_db: r#"SHOW FIELD KEYS ON "telegraf" FROM "telegraf"."autogen"."cpu""#,
    grafana_annotation: r#"SELECT "title", "text" FROM "events" WHERE time >= 1700000000000ms and time <= 1700003600000ms"#,
    grafana_fill_float: r#"SELECT mean("v") FROM "m" WHERE time > now() - 5m GROUP BY time(1m) fill(-1.5)"#,
    chronograf_show_rp_internal: r#"SHOW RETENTION POLICIES ON "_internal""#,
    chronograf_show_measurements_on: r#"SHOW MEASUREMENTS ON "telegraf" LIMIT 100 OFFSET 0"#,
    chronograf_show_tag_keys_on: r#"SHOW TAG KEYS ON "telegraf" FROM "cpu""#,
    chronograf_show_tag_values_on: r#"SHOW TAG VALUES ON "telegraf" FROM "cpu" WITH KEY = "host""#,
    chronograf_dashboard_query: r#"SELECT mean("usage_user") AS "mean_usage_user" FROM "telegraf"."autogen"."cpu" WHERE time > now() - 1h GROUP BY time(1m) FILL(null)"#,
    chronograf_show_users: "SHOW USERS",
    chronograf_show_queries: "SHOW QUERIES",
    chronograf_show_diagnostics: "SHOW DIAGNOSTICS",
    chronograf_show_stats: "SHOW STATS",
    chronograf_kill_query: "KILL QUERY 42",
    influx_shell_select_star: "SELECT * FROM cpu LIMIT 10",
    influx_shell_series: "SHOW SERIES FROM cpu",
    influx_shell_series_cardinality: "SHOW SERIES CARDINALITY",
}

#[test]
fn grafana_multi_statement_request() {
    let statements = parse(
        r#"SELECT mean("a") FROM "m" WHERE time > now() - 1h GROUP BY time(1m); SELECT mean("b") FROM "m" WHERE time > now() - 1h GROUP BY time(1m)"#,
    )
    .unwrap();
    assert_eq!(statements.len(), 2);
}
