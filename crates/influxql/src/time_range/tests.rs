use super::*;
use crate::parse_expr;

const NOW: i64 = 1_700_000_000_000_000_000;
const S: i64 = 1_000_000_000;
const H: i64 = 3600 * S;

fn split(condition: &str) -> (Option<String>, TimeRange) {
    let (rest, range) = parse_expr(condition)
        .unwrap()
        .split_time_condition(NOW)
        .unwrap();
    (rest.map(|e| e.to_string()), range)
}

fn range(min: Option<i64>, max: Option<i64>) -> TimeRange {
    TimeRange { min, max }
}

fn fails(condition: &str) -> String {
    parse_expr(condition)
        .unwrap()
        .split_time_condition(NOW)
        .unwrap_err()
        .to_string()
}

#[test]
fn relative_to_now() {
    assert_eq!(
        split("time > now() - 1h"),
        (None, range(Some(NOW - H + 1), None))
    );
    assert_eq!(
        split("time >= now() - 1h"),
        (None, range(Some(NOW - H), None))
    );
    assert_eq!(split("time < now()"), (None, range(None, Some(NOW - 1))));
    assert_eq!(
        split("time <= now() + 30m"),
        (None, range(None, Some(NOW + H / 2)))
    );
    assert_eq!(
        split("time > now() - 1h - 30m"),
        (None, range(Some(NOW - 3 * H / 2 + 1), None))
    );
}

#[test]
fn absolute_times() {
    assert_eq!(
        split("time >= '2024-01-01T00:00:00Z' AND time < '2024-01-02'"),
        (
            None,
            range(Some(1_704_067_200 * S), Some(1_704_153_600 * S - 1))
        )
    );
    assert_eq!(
        split("time = '2024-01-01 00:00:01.5'"),
        (
            None,
            range(
                Some(1_704_067_201_500_000_000),
                Some(1_704_067_201_500_000_000)
            )
        )
    );
    assert_eq!(
        split("time >= '2024-01-01T01:00:00+01:00'"),
        (None, range(Some(1_704_067_200 * S), None))
    );
    assert_eq!(split("time > 5"), (None, range(Some(6), None)));
    assert_eq!(split("time > 1.5"), (None, range(Some(2), None)));
    assert_eq!(
        split("time >= 1700000000000ms and time <= 1700003600000ms"),
        (
            None,
            range(Some(1_700_000_000 * S), Some(1_700_003_600 * S))
        )
    );
    assert_eq!(
        split("time > '2024-01-01T00:00:00Z' - 1h"),
        (None, range(Some(1_704_067_200 * S - H + 1), None))
    );
}

#[test]
fn time_on_the_right_is_mirrored() {
    assert_eq!(
        split("now() - 1h < time"),
        (None, range(Some(NOW - H + 1), None))
    );
    assert_eq!(split("5 >= time"), (None, range(None, Some(5))));
}

#[test]
fn other_conditions_are_kept() {
    assert_eq!(
        split("host = 'a' AND time > now() - 1h AND region =~ /us/"),
        (
            Some("host = 'a' AND region =~ /us/".to_string()),
            range(Some(NOW - H + 1), None)
        )
    );
    assert_eq!(
        split("(time > 10 AND host = 'a') OR b = 1"),
        (
            Some("(host = 'a') OR b = 1".to_string()),
            range(Some(11), None)
        )
    );
    assert_eq!(split("(time > 10)"), (None, range(Some(11), None)));
    assert_eq!(
        split("true"),
        (Some("true".to_string()), TimeRange::UNBOUNDED)
    );
    assert_eq!(
        split("a + 1 > 2"),
        (Some("a + 1 > 2".to_string()), TimeRange::UNBOUNDED)
    );
}

#[test]
fn bounds_are_intersected_even_across_or() {
    assert_eq!(
        split("time > 10 AND time > 20 AND time < 100 AND time <= 50"),
        (None, range(Some(21), Some(50)))
    );
    assert_eq!(
        split("time > 10 OR time > 20"),
        (None, range(Some(21), None))
    );
    let empty = split("time > 100 AND time < 50").1;
    assert!(empty.is_empty() && !empty.contains(75));
    assert!(range(Some(1), Some(3)).contains(3));
    assert!(TimeRange::UNBOUNDED.is_unbounded());
}

#[test]
fn unusable_time_conditions() {
    assert_eq!(fails("time != 5"), "invalid time comparison operator: !=");
    assert_eq!(
        fails("time =~ /x/"),
        "invalid operation: time and /x/ are not compatible"
    );
    assert_eq!(
        fails("time > 'yesterday'"),
        "invalid operation: time and 'yesterday' are not compatible"
    );
    assert_eq!(
        fails("time > '2024-13-45T00:00:00Z'"),
        "invalid timestamp string"
    );
    assert_eq!(
        fails("time > true"),
        "invalid operation: time and true are not compatible"
    );
    assert_eq!(fails("time > $t"), "missing parameter: t");
    assert_eq!(
        fails("time > now() * now()"),
        "invalid time expression: now() * now()"
    );
    assert_eq!(
        fails("time > now() + 9223372036854775807"),
        "time arithmetic overflows a 64-bit nanosecond timestamp"
    );
    assert_eq!(fails("host"), "invalid condition expression: host");
}

#[test]
fn statement_level_helpers() {
    let statements = crate::parse("SELECT v FROM m").unwrap();
    let crate::Statement::Select(select) = &statements[0] else {
        panic!()
    };
    assert_eq!(select.time_range(NOW), Ok(TimeRange::UNBOUNDED));
    assert_eq!(
        select.split_time_condition(NOW),
        Ok((None, TimeRange::UNBOUNDED))
    );
}

#[test]
fn time_strings() {
    assert_eq!(parse_time_string("2024-01-01"), Some(Ok(1_704_067_200 * S)));
    assert_eq!(
        parse_time_string("2024-01-01T00:00:00"),
        Some(Ok(1_704_067_200 * S))
    );
    assert_eq!(
        parse_time_string("2024-01-01T00:00:00.123456789Z"),
        Some(Ok(1_704_067_200 * S + 123_456_789))
    );
    assert_eq!(parse_time_string("hello"), None);
    assert!(matches!(parse_time_string("2024-01-01x"), Some(Err(_))));
    assert!(matches!(parse_time_string("3000-01-01"), Some(Err(_))));
}
