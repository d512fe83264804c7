use proptest::prelude::*;

use super::*;
use crate::batch::{ColumnData, FieldColumn};

const NOW: i64 = 1_700_000_000_123_456_789;

/// One parsed line, as the tests look at it.
#[derive(Debug, Clone, PartialEq)]
struct Point {
    line: usize,
    series: SeriesKey,
    /// In column order (the line's order for a series' first line).
    fields: Vec<(String, DataPoint)>,
    time: i64,
}

/// A batch as lines: the points in line order, and the errors.
#[derive(Debug)]
struct Parsed {
    points: Vec<Point>,
    errors: Vec<LineError>,
}

fn value_at(column: &FieldColumn, row: usize) -> Option<DataPoint> {
    let index = (0..column.values.len()).find(|index| column.row_of(*index) == row)?;
    Some(match &column.values {
        ColumnData::F64(values) => DataPoint::F64(values[index]),
        ColumnData::I64(values) => DataPoint::I64(values[index]),
        ColumnData::U64(values) => DataPoint::U64(values[index]),
        ColumnData::Bool(values) => DataPoint::Bool(values[index]),
        ColumnData::Str(values) => DataPoint::Str(values[index].clone()),
    })
}

fn flatten(batch: WriteBatch) -> Parsed {
    let mut points = Vec::new();
    for series in &batch.series {
        for (row, time) in series.times.iter().enumerate() {
            let fields = series
                .columns
                .iter()
                .filter_map(|column| {
                    value_at(column, row).map(|value| (column.name.clone(), value))
                })
                .collect();
            points.push(Point {
                line: series.lines.of(row),
                series: series.key.clone(),
                fields,
                time: *time,
            });
        }
    }
    points.sort_by_key(|point| point.line);
    Parsed {
        points,
        errors: batch.errors,
    }
}

fn parse_with(body: &[u8], precision: Precision, now: i64) -> Parsed {
    flatten(parse_lines(body, precision, now, &IngestLimits::default()))
}

fn parse(body: &str) -> Parsed {
    parse_with(body.as_bytes(), Precision::Nanosecond, NOW)
}

fn tags(point: &Point) -> Vec<(&str, &str)> {
    point
        .series
        .tags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[test]
fn all_five_types_and_a_timestamp() {
    let batch = parse("cpu,host=a f=1.5,i=-2i,u=3u,s=\"x\",b=t 1000\n");
    assert!(batch.errors.is_empty(), "{:?}", batch.errors);
    let point = &batch.points[0];
    assert_eq!(point.series.measurement, "cpu");
    assert_eq!(tags(point), vec![("host", "a")]);
    assert_eq!(
        point.fields,
        vec![
            ("f".into(), DataPoint::F64(1.5)),
            ("i".into(), DataPoint::I64(-2)),
            ("u".into(), DataPoint::U64(3)),
            ("s".into(), DataPoint::Str("x".into())),
            ("b".into(), DataPoint::Bool(true)),
        ]
    );
    assert_eq!(point.time, 1000);
}

#[test]
fn escapes_comments_blank_lines_and_crlf() {
    let body = "# a comment\r\n\r\n  \nwea\\ ther,lo\\,c\\=x=a\\ b\\=c te\\ mp=1,msg=\"say \\\"hi\\\" \\\\ ok\" 5\r\n";
    let batch = parse(body);
    assert!(batch.errors.is_empty(), "{:?}", batch.errors);
    let point = &batch.points[0];
    assert_eq!(point.line, 4);
    assert_eq!(point.series.measurement, "wea ther");
    assert_eq!(tags(point), vec![("lo,c=x", "a b=c")]);
    assert_eq!(point.fields[0].0, "te mp");
    assert_eq!(point.fields[1].1, DataPoint::Str("say \"hi\" \\ ok".into()));
}

#[test]
fn quoted_newlines_keep_physical_line_numbers() {
    let body = "m f=\"two\nlines\" 1\nbad line\nm g=2 3";
    let batch = parse(body);
    assert_eq!(batch.points.len(), 2);
    assert_eq!(
        batch.points[0].fields[0].1,
        DataPoint::Str("two\nlines".into())
    );
    assert_eq!(batch.errors.len(), 1);
    assert_eq!(
        batch.errors[0].line, 3,
        "the bad line is the third physical line"
    );
    assert_eq!(batch.errors[0].original, "bad line");
    assert_eq!(batch.points[1].line, 4);
}

#[test]
fn bad_lines_are_reported_and_good_ones_kept() {
    let body = "m f=1 1\nm f=\nm f=1.0.0 2\nm,t= f=1 3\nm f=99999999999999999999i 4\nm f=1e400 5\nm f=NaN 6\nm f=2 7";
    let batch = parse(body);
    let lines: Vec<usize> = batch.points.iter().map(|point| point.line).collect();
    assert_eq!(lines, vec![1, 8], "good lines survive");
    let bad: Vec<usize> = batch.errors.iter().map(|error| error.line).collect();
    assert_eq!(bad, vec![2, 3, 4, 5, 6, 7]);
    for error in &batch.errors {
        assert!(!error.message.is_empty());
    }
    assert!(
        batch.errors[4].message.contains("NaN and infinite"),
        "{:?}",
        batch.errors[4]
    );
}

#[test]
fn syntax_errors_say_what_was_expected() {
    // The messages docs/ingest.md quotes.
    let cases = [
        (
            "cpu v=",
            "missing field value for `v`: expected a float (1.5), an integer (1i)",
        ),
        ("cpu v", "field `v` has no value (expected `v=value`"),
        (
            "cpu",
            "missing fields: a line is `measurement[,tag=value...] field=value",
        ),
        (
            "cpu v=abc",
            "invalid value `abc` for field `v`: expected a float",
        ),
        ("cpu v=1,", "missing field after `,` (expected `key=value`)"),
        (
            "cpu v=\"x",
            "the string value of field `v` has no closing `\"`",
        ),
        (
            "cpu v=\"x\"y",
            "unexpected `y` after the value of field `v`",
        ),
        (
            "cpu,host v=1",
            "tag `host` has no value (expected `host=value`)",
        ),
        ("cpu,host= v=1", "tag `host` has an empty value"),
        ("cpu,h=a,h=b v=1", "tag `h` appears twice"),
        (
            "cpu v=1 soon",
            "invalid timestamp `soon`: expected an integer",
        ),
        (
            "cpu v=99999999999999999999i",
            "value `99999999999999999999i` of field `v` is out of range",
        ),
        (",a=b v=1", "missing measurement: a line is"),
        (
            "cpu\\",
            "measurement `cpu\\` ends with a backslash that escapes nothing",
        ),
    ];
    for (line, expected) in cases {
        let batch = parse_lines(
            line.as_bytes(),
            Precision::Nanosecond,
            0,
            &IngestLimits::default(),
        );
        assert_eq!(batch.errors.len(), 1, "{line}");
        let message = &batch.errors[0].message;
        assert!(message.starts_with(expected), "{line}: {message}");
    }
}

#[test]
fn missing_timestamps_get_the_server_time_at_the_precision() {
    let batch = parse_with(b"m f=1", Precision::Second, NOW);
    assert_eq!(batch.points[0].time, 1_700_000_000_000_000_000);
    let batch = parse_with(b"m f=1", Precision::Nanosecond, NOW);
    assert_eq!(batch.points[0].time, NOW);
}

#[test]
fn precisions_and_auto() {
    let at = |body: &str, precision| parse_with(body.as_bytes(), precision, NOW).points[0].time;
    assert_eq!(at("m f=1 2", Precision::Microsecond), 2_000);
    assert_eq!(at("m f=1 2", Precision::Millisecond), 2_000_000);
    assert_eq!(at("m f=1 2", Precision::Minute), 120_000_000_000);
    assert_eq!(
        at("m f=1 1700000000", Precision::Auto),
        1_700_000_000_000_000_000
    );
    assert_eq!(
        at("m f=1 1700000000000", Precision::Auto),
        1_700_000_000_000_000_000
    );
    assert_eq!(
        at("m f=1 1700000000000000", Precision::Auto),
        1_700_000_000_000_000_000
    );
    assert_eq!(
        at("m f=1 1700000000000000000", Precision::Auto),
        1_700_000_000_000_000_000
    );
    let overflow = parse_with(b"m f=1 9223372036854775807", Precision::Second, NOW);
    assert!(
        overflow.errors[0]
            .message
            .contains("out of range for precision s")
    );
    assert!(
        Precision::parse("fortnight")
            .unwrap_err()
            .contains("invalid precision")
    );
}

#[test]
fn invalid_utf8_rejects_only_its_line() {
    let body = b"m f=1 1\nm,t=\xff f=1 2\nm f=3 3";
    let batch = parse_with(body, Precision::Nanosecond, NOW);
    assert_eq!(batch.points.len(), 2);
    assert_eq!(batch.errors[0].line, 2);
    assert!(batch.errors[0].message.contains("UTF-8"));
}

#[test]
fn time_and_tag_named_fields_are_rejected_per_line() {
    let batch = parse("m time=1 1\nm,time=a f=1 1\nm,host=a host=1 1\nm,host=a f=1 1");
    let messages: Vec<(usize, &str)> = batch
        .errors
        .iter()
        .map(|error| (error.line, error.message.as_str()))
        .collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(messages[0].1.contains("field key `time` is reserved"));
    assert!(messages[1].1.contains("tag key `time` is reserved"));
    assert!(messages[2].1.contains("both a tag key and a field key"));
    assert_eq!(batch.points.len(), 1);
}

#[test]
fn repeated_fields_keep_the_last_value() {
    let batch = parse("m f=1,f=2 1");
    assert_eq!(
        batch.points[0].fields,
        vec![("f".into(), DataPoint::F64(2.0))]
    );
}

/// Names with every character line protocol escapes, except the backslash: before a special
/// character it is ambiguous in the grammar itself (`\\=` reads as an escaped `=`).
fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ,=\"é_-]{1,12}".prop_filter("no leading #", |s| !s.starts_with('#'))
}

fn escape(text: &str, specials: &[char]) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if specials.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn value() -> impl Strategy<Value = DataPoint> {
    prop_oneof![
        (-1e12f64..1e12).prop_map(DataPoint::F64),
        any::<i64>().prop_map(DataPoint::I64),
        any::<u64>().prop_map(DataPoint::U64),
        any::<bool>().prop_map(DataPoint::Bool),
        "[ -~é\n]{0,20}".prop_map(DataPoint::Str),
    ]
}

fn encode(point: &Point) -> String {
    let mut line = escape(&point.series.measurement, &[',', ' ']);
    for (key, value) in &point.series.tags {
        line.push(',');
        line.push_str(&escape(key, &[',', '=', ' ']));
        line.push('=');
        line.push_str(&escape(value, &[',', '=', ' ']));
    }
    line.push(' ');
    let fields: Vec<String> = point
        .fields
        .iter()
        .map(|(key, value)| {
            let value = match value {
                DataPoint::F64(x) => format!("{x:?}"),
                DataPoint::I64(x) => format!("{x}i"),
                DataPoint::U64(x) => format!("{x}u"),
                DataPoint::Bool(x) => x.to_string(),
                DataPoint::Str(x) => format!("\"{}\"", escape(x, &['"', '\\'])),
            };
            format!("{}={value}", escape(key, &[',', '=', ' ']))
        })
        .collect();
    line.push_str(&fields.join(","));
    line.push_str(&format!(" {}", point.time));
    line
}

fn point() -> impl Strategy<Value = Point> {
    (
        name(),
        prop::collection::btree_map(name(), name(), 0..4),
        prop::collection::btree_map(name(), value(), 1..4),
        any::<i64>(),
    )
        .prop_filter_map(
            "a column is a tag or a field, and `time` is neither",
            |(measurement, mut tags, mut fields, time)| {
                tags.remove("time");
                fields.retain(|name, _| name != "time" && !tags.contains_key(name));
                (!fields.is_empty()).then(|| Point {
                    line: 1,
                    series: SeriesKey::new(measurement, tags.into_iter().collect()),
                    fields: fields.into_iter().collect(),
                    time,
                })
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn encoded_points_parse_back_exactly(points in prop::collection::vec(point(), 1..5)) {
        let body: Vec<String> = points.iter().map(encode).collect();
        let batch = parse(&body.join("\n"));
        prop_assert!(batch.errors.is_empty(), "{:?}\n{}", batch.errors, body.join("\n"));
        prop_assert_eq!(batch.points.len(), points.len());
        for (parsed, original) in batch.points.iter().zip(&points) {
            prop_assert_eq!(&parsed.series, &original.series);
            let mut fields = parsed.fields.clone();
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            prop_assert_eq!(&fields, &original.fields);
            prop_assert_eq!(parsed.time, original.time);
        }
    }

    #[test]
    fn arbitrary_bodies_never_panic(body in prop::collection::vec(any::<u8>(), 0..400)) {
        let batch = parse_with(&body, Precision::Auto, NOW);
        for error in &batch.errors {
            prop_assert!(error.line >= 1);
        }
    }
}
