//! Expected names are the ones `prometheus/otlptranslator`'s own tests pin, plus the
//! semantic-convention metrics the OpenTelemetry SDKs emit.

use super::*;
use MetricKind::*;
use TranslationStrategy::*;

fn name(strategy: TranslationStrategy, name: &str, unit: &str, kind: MetricKind) -> String {
    metric_name(strategy, name, unit, kind).unwrap_or_else(|error| format!("error: {error}"))
}

#[test]
fn underscore_escaping_with_suffixes() {
    let cases = [
        (
            "http.server.request.duration",
            "s",
            Histogram,
            "http_server_request_duration_seconds",
        ),
        (
            "http.server.active_requests",
            "{request}",
            NonMonotonicCounter,
            "http_server_active_requests",
        ),
        (
            "process.cpu.time",
            "s",
            MonotonicCounter,
            "process_cpu_time_seconds_total",
        ),
        (
            "system.memory.usage",
            "By",
            NonMonotonicCounter,
            "system_memory_usage_bytes",
        ),
        (
            "system.cpu.utilization",
            "1",
            Gauge,
            "system_cpu_utilization_ratio",
        ),
        ("requests", "", MonotonicCounter, "requests_total"),
        ("requests_total", "", MonotonicCounter, "requests_total"),
        ("total.requests", "", MonotonicCounter, "requests_total"),
        ("items", "1", MonotonicCounter, "items_total"),
        ("cpu_usage_ratio", "1", Gauge, "cpu_usage_ratio"),
        ("response_time_seconds", "s", Gauge, "response_time_seconds"),
        ("requests", "1/s", Gauge, "requests_per_second"),
        (
            "requests",
            "1/s",
            MonotonicCounter,
            "requests_per_second_total",
        ),
        ("throughput", "By/s", Gauge, "throughput_bytes_per_second"),
        ("speed", "m/s", Gauge, "speed_meters_per_second"),
        (
            "custom_metric",
            "custom_unit",
            Gauge,
            "custom_metric_custom_unit",
        ),
        ("custom_metric", "{custom}", Gauge, "custom_metric"),
        ("custom_metric", "By/{custom}", Gauge, "custom_metric_bytes"),
        (
            "custom_metric",
            "unit@with#special/chars",
            Gauge,
            "custom_metric_unit_with_special_per_chars",
        ),
        (
            "metric__with__multiple__underscores",
            "unit__multiple__underscores",
            Gauge,
            "metric_with_multiple_underscores_unit_multiple_underscores",
        ),
        ("123_requests", "", MonotonicCounter, "_123_requests_total"),
        ("request_size", "By", Histogram, "request_size_bytes"),
        ("response_time", "ms", Summary, "response_time_milliseconds"),
        ("storage", "TiBy", Gauge, "storage_tibibytes"),
        ("temperature", "Cel", Gauge, "temperature_celsius"),
        ("a:b.c", "", Gauge, "a:b_c"),
    ];
    for (input, unit, kind, expected) in cases {
        assert_eq!(
            name(UnderscoreEscapingWithSuffixes, input, unit, kind),
            expected,
            "{input} [{unit}]"
        );
    }
    assert!(metric_name(UnderscoreEscapingWithSuffixes, "@#$%", "", Gauge).is_err());
    assert!(metric_name(UnderscoreEscapingWithSuffixes, "", "", Gauge).is_err());
}

#[test]
fn other_strategies() {
    let cases = [
        (
            UnderscoreEscapingWithoutSuffixes,
            "metric@with#special$chars",
            "s",
            Gauge,
            "metric_with_special_chars",
        ),
        (
            UnderscoreEscapingWithoutSuffixes,
            "metric@@##$$name",
            "",
            Gauge,
            "metric_name",
        ),
        (
            UnderscoreEscapingWithoutSuffixes,
            "keeps__double",
            "",
            Gauge,
            "keeps__double",
        ),
        (
            UnderscoreEscapingWithoutSuffixes,
            "123metric",
            "",
            MonotonicCounter,
            "_123metric",
        ),
        (
            NoUtf8EscapingWithSuffixes,
            "requêsts",
            "",
            MonotonicCounter,
            "requêsts_total",
        ),
        (
            NoUtf8EscapingWithSuffixes,
            "cpu_usagé",
            "1",
            Gauge,
            "cpu_usagé_ratio",
        ),
        (
            NoUtf8EscapingWithSuffixes,
            "requêsts",
            "1/s",
            Gauge,
            "requêsts_per_second",
        ),
        (
            NoUtf8EscapingWithSuffixes,
            "cpu_seconds_total",
            "s",
            MonotonicCounter,
            "cpu_seconds_total",
        ),
        (
            NoUtf8EscapingWithSuffixes,
            "http.server.duration",
            "s",
            Histogram,
            "http.server.duration_seconds",
        ),
        (
            NoUtf8EscapingWithSuffixes,
            "@#$%",
            "",
            MonotonicCounter,
            "@#$%_total",
        ),
        (
            NoTranslation,
            "http.server.duration",
            "s",
            Histogram,
            "http.server.duration",
        ),
        (NoTranslation, "requests", "", MonotonicCounter, "requests"),
    ];
    for (strategy, input, unit, kind, expected) in cases {
        assert_eq!(
            name(strategy, input, unit, kind),
            expected,
            "{strategy:?} {input}"
        );
    }
    assert!(metric_name(UnderscoreEscapingWithoutSuffixes, "@#$%", "", Gauge).is_err());
    assert!(metric_name(NoTranslation, "", "", Gauge).is_err());
}

#[test]
fn label_names() {
    let strategy = UnderscoreEscapingWithSuffixes;
    let cases = [
        ("http.request.method", "http_request_method"),
        ("service_name", "service_name"),
        ("k8s.pod.name", "k8s_pod_name"),
        ("123invalid", "key_123invalid"),
        ("_private", "key_private"),
        ("__reserved__", "__reserved__"),
        ("a..b", "a__b"),
        ("ünïcode", "key_n_code"),
        ("__", "__"),
        (".", "key_"),
    ];
    for (key, expected) in cases {
        assert_eq!(label_name(strategy, key).unwrap(), expected, "{key}");
    }
    assert!(label_name(strategy, "").is_err());
    assert!(label_name(strategy, "..").is_err());
    assert_eq!(
        label_name(NoTranslation, "http.method").unwrap(),
        "http.method"
    );
    assert!(matches!(
        label_name(strategy, "plain").unwrap(),
        Cow::Borrowed(_)
    ));
}

#[test]
fn metadata_units_and_floats() {
    for (unit, expected) in [
        ("s", "seconds"),
        ("By/s", "bytes_per_second"),
        ("1/s", "per_second"),
        ("1", ""),
        ("{request}", ""),
        ("m/s", "meters_per_second"),
        ("custom_unit", "custom_unit"),
    ] {
        assert_eq!(unit_words(unit), expected, "{unit}");
    }
    for (value, expected) in [
        (0.005, "0.005"),
        (1.0, "1"),
        (-0.5, "-0.5"),
        (1e21, "1000000000000000000000"),
        (1e-7, "0.0000001"),
        (f64::INFINITY, "+Inf"),
        (f64::NEG_INFINITY, "-Inf"),
        (f64::NAN, "NaN"),
        (0.1 + 0.2, "0.30000000000000004"),
    ] {
        assert_eq!(format_float(value), expected);
    }
    assert_eq!(
        "NoUTF8EscapingWithSuffixes".parse::<TranslationStrategy>(),
        Ok(NoUtf8EscapingWithSuffixes)
    );
    assert!("Underscores".parse::<TranslationStrategy>().is_err());
}
