use proptest::prelude::*;
use tidemark_storage::tsdb::SeriesKey;

use super::*;
use crate::remote_write::{self, LabelProto, SampleProto, TimeSeriesProto, WriteRequestProto};

const BUDGET: usize = 1 << 30;

fn compress(bytes: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new().compress_vec(bytes).unwrap()
}

fn refs(symbols: &[&str], pairs: &[(&str, &str)]) -> Vec<u32> {
    let at = |s: &str| symbols.iter().position(|x| *x == s).unwrap() as u32;
    pairs.iter().flat_map(|(n, v)| [at(n), at(v)]).collect()
}

fn sample(timestamp: i64, value: f64) -> Sample {
    Sample {
        value,
        timestamp,
        start_timestamp: 0,
    }
}

fn floats(rows: &SeriesRows) -> Vec<f64> {
    match &rows.columns[0].values {
        ColumnData::F64(values) => values.clone(),
        other => panic!("not floats: {other:?}"),
    }
}

fn legacy(request: &Request) -> V2Batch {
    to_batch(
        request,
        &IngestLimits::default(),
        NameValidation::Legacy,
        BUDGET,
    )
    .unwrap()
}

#[test]
fn prometheus_like_request_with_metadata_exemplars_and_histograms() {
    let symbols = [
        "",
        "__name__",
        "http_requests_total",
        "job",
        "api",
        "code",
        "200",
        "Requests served.",
        "http_latency_seconds",
        "seconds",
        "rpc_seconds_bucket",
        "le",
        "0.5",
        "Latency.",
        "trace_id",
        "abc123",
    ];
    let counter = TimeSeries {
        labels_refs: refs(
            &symbols,
            &[
                ("__name__", "http_requests_total"),
                ("code", "200"),
                ("job", "api"),
            ],
        ),
        samples: vec![
            Sample {
                value: 10.0,
                timestamp: 1_000,
                start_timestamp: 500,
            },
            sample(2_000, 12.0),
        ],
        exemplars: vec![Exemplar {
            labels_refs: refs(&symbols, &[("trace_id", "abc123")]),
            value: 1.0,
            timestamp: 1_500,
        }],
        metadata: Some(Metadata {
            r#type: 1,
            help_ref: 7,
            unit_ref: 0,
        }),
        ..Default::default()
    };
    let native = TimeSeries {
        labels_refs: refs(
            &symbols,
            &[("__name__", "http_latency_seconds"), ("job", "api")],
        ),
        histograms: vec![
            Histogram { timestamp: 1_000 },
            Histogram { timestamp: 2_000 },
        ],
        exemplars: vec![Exemplar::default()],
        ..Default::default()
    };
    let bucket = TimeSeries {
        labels_refs: refs(
            &symbols,
            &[
                ("__name__", "rpc_seconds_bucket"),
                ("job", "api"),
                ("le", "0.5"),
            ],
        ),
        samples: vec![
            sample(1_000, 3.0),
            sample(2_000, f64::from_bits(STALE_NAN_BITS)),
        ],
        metadata: Some(Metadata {
            r#type: 3,
            help_ref: 13,
            unit_ref: 9,
        }),
        created_timestamp: 900,
        ..Default::default()
    };
    let request = Request {
        symbols: symbols.iter().map(|s| s.to_string()).collect(),
        timeseries: vec![counter, native, bucket],
    };
    let body = compress(&request.encode_to_vec());
    let decoded = legacy(&decode_request(&body, 1 << 20).unwrap());

    assert_eq!(decoded.batch.series.len(), 2);
    let counter = &decoded.batch.series[0];
    assert_eq!(
        counter.key,
        SeriesKey::new(
            "http_requests_total",
            vec![("code".into(), "200".into()), ("job".into(), "api".into())]
        )
    );
    assert_eq!(counter.times, vec![1_000_000_000, 2_000_000_000]);
    assert_eq!(floats(counter), vec![10.0, 12.0]);
    assert_eq!(counter.lines.of(0), 1);
    let bucket = &decoded.batch.series[1];
    assert_eq!(bucket.lines.of(0), 3);
    assert_eq!(floats(bucket), vec![3.0]);
    assert_eq!(decoded.stale_markers, 1);
    assert_eq!(
        decoded.exemplars,
        vec![1, 0],
        "exemplars of refused series do not count"
    );
    assert_eq!(decoded.histograms, 2);
    assert_eq!(decoded.refused_samples, 2);
    assert_eq!(decoded.batch.errors.len(), 1);
    let refused = &decoded.batch.errors[0];
    assert_eq!(refused.line, 2);
    assert_eq!(refused.message, NATIVE_HISTOGRAM_REASON);
    assert!(refused.original.contains("http_latency_seconds"));
    let metadata: Vec<(&str, &str, &str, &str)> = decoded
        .metadata
        .iter()
        .map(|(family, m)| {
            (
                family.as_str(),
                m.kind.as_str(),
                m.help.as_str(),
                m.unit.as_str(),
            )
        })
        .collect();
    assert_eq!(
        metadata,
        vec![
            ("http_requests_total", "counter", "Requests served.", ""),
            ("rpc_seconds", "histogram", "Latency.", "seconds"),
        ]
    );
}

#[test]
fn malformed_series_are_refused_one_by_one_and_named() {
    let symbols = [
        "", "__name__", "up", "job", "x", "bad-name", "9lives", "", "café",
    ];
    let series = |pairs: Vec<u32>| TimeSeries {
        labels_refs: pairs,
        samples: vec![sample(1, 1.0)],
        ..Default::default()
    };
    let request = Request {
        symbols: symbols.iter().map(|s| s.to_string()).collect(),
        timeseries: vec![
            series(vec![1, 2, 3, 4]),       // 1: fine
            series(vec![1, 2, 3]),          // 2: odd
            series(vec![1, 2, 3, 99]),      // 3: out of range
            series(vec![3, 4]),             // 4: no name
            series(vec![1, 6]),             // 5: invalid metric name
            series(vec![1, 2, 5, 4]),       // 6: invalid label name
            series(vec![1, 2, 3, 4, 3, 4]), // 7: duplicate
            series(vec![1, 2, 1, 2]),       // 8: duplicate name
            series(vec![1, 2, 0, 4]),       // 9: empty label name
            TimeSeries {
                labels_refs: vec![1, 2],
                ..Default::default()
            }, // 10: no samples: nothing to write, not an error (as 1.0)
            TimeSeries {
                metadata: Some(Metadata {
                    r#type: 2,
                    help_ref: 50,
                    unit_ref: 0,
                }),
                ..series(vec![1, 2])
            }, // 11
            TimeSeries {
                samples: vec![sample(i64::MAX, 1.0)],
                ..series(vec![1, 2])
            }, // 12
            series(vec![1, 2, 3, 7]),       // 13: empty value dropped
            series(vec![1, 2, 8, 4]),       // 14: UTF-8 label name
        ],
    };
    let decoded = legacy(&request);
    let refused: Vec<(usize, &str)> = decoded
        .batch
        .errors
        .iter()
        .map(|error| (error.line, error.message.as_str()))
        .collect();
    assert_eq!(
        refused,
        vec![
            (
                2,
                "odd number of label references (3); they come in name/value pairs"
            ),
            (3, "label value reference 99 is out of range (9 symbols)"),
            (4, "missing metric name (label \"__name__\")"),
            (5, "invalid metric name \"9lives\""),
            (6, "invalid label name \"bad-name\""),
            (7, "duplicate label \"job\""),
            (8, "duplicate label \"__name__\""),
            (9, "invalid label name \"\""),
            (11, "metadata help reference 50 is out of range (9 symbols)"),
            (12, "timestamp 9223372036854775807 ms is out of range"),
            (14, "invalid label name \"café\""),
        ]
    );
    // The series are named by what could be read of their labels.
    assert_eq!(decoded.batch.errors[1].original, "{__name__=\"up\"}");
    let kept: Vec<usize> = decoded
        .batch
        .series
        .iter()
        .map(|rows| rows.lines.of(0))
        .collect();
    assert_eq!(kept, vec![1, 13]);

    let utf8 = to_batch(
        &request,
        &IngestLimits::default(),
        NameValidation::Utf8,
        BUDGET,
    )
    .unwrap();
    let lines: Vec<usize> = utf8.batch.errors.iter().map(|error| error.line).collect();
    assert!(lines.contains(&9) && !lines.contains(&5) && !lines.contains(&14));
    assert!(
        utf8.batch
            .series
            .iter()
            .any(|rows| rows.key.tags.contains(&("café".into(), "x".into())))
    );

    let mut broken = request.clone();
    broken.symbols[0] = "oops".into();
    let decoded = legacy(&broken);
    assert!(decoded.batch.series.is_empty());
    assert_eq!(
        decoded.batch.errors[0].message,
        "the symbol table must start with an empty string (symbols[0] is \"oops\")"
    );
    let empty = Request {
        symbols: Vec::new(),
        timeseries: vec![series(vec![1, 2])],
    };
    assert_eq!(
        legacy(&empty).batch.errors[0].message,
        "label name reference 1 into an empty symbol table"
    );
}

#[test]
fn bodies_that_do_not_decode_and_requests_that_expand() {
    assert!(matches!(
        decode_request(b"\xff\xff\xff\xff\xff\xff", 1 << 20),
        Err(RemoteWriteError::Snappy(_))
    ));
    let body = compress(
        &Request {
            symbols: vec![String::new(); 100],
            timeseries: Vec::new(),
        }
        .encode_to_vec(),
    );
    assert!(matches!(
        decode_request(&body, 10),
        Err(RemoteWriteError::TooLarge { limit: 10, .. })
    ));
    let not_utf8 = compress(b"\x22\x02\xff\xfe");
    assert!(matches!(
        decode_request(&not_utf8, 1 << 20),
        Err(RemoteWriteError::ProtobufV2(_))
    ));
    // A 1.0 body read as 2.0 holds nothing 2.0 knows (fields 1 to 3 are reserved in 2.0).
    let v1 = WriteRequestProto {
        timeseries: vec![TimeSeriesProto {
            labels: vec![LabelProto {
                name: "__name__".into(),
                value: "up".into(),
            }],
            samples: vec![SampleProto {
                value: 1.0,
                timestamp: 1,
            }],
            histograms: Vec::new(),
        }],
        metadata: Vec::new(),
    };
    let refused = decode_request(&compress(&v1.encode_to_vec()), 1 << 20).unwrap_err();
    assert!(
        refused.to_string().contains("remote_write 1.0"),
        "{refused}"
    );
    assert_eq!(
        decode_request(&compress(b""), 1 << 20),
        Ok(Request::default())
    );
    // A few large symbols referred to by many series: small on the wire, huge once decoded.
    let big = "v".repeat(4_000);
    let mut symbols = vec![String::new(), "__name__".into(), "m".into(), big];
    let mut pairs = vec![1, 2];
    for index in 0..60 {
        symbols.push(format!("l{index}"));
        pairs.extend([symbols.len() as u32 - 1, 3]);
    }
    let series = TimeSeries {
        labels_refs: pairs,
        samples: vec![sample(1, 1.0)],
        ..Default::default()
    };
    let request = Request {
        symbols,
        timeseries: vec![series; 2_000],
    };
    let limits = IngestLimits::default();
    let refused = to_batch(&request, &limits, NameValidation::Legacy, 64 << 20);
    assert_eq!(refused, Err(RemoteWriteError::Expands { limit: 64 << 20 }));
}

/// Encodes 1.0 series as 2.0 with the symbols in a caller-chosen order (plus `""` first).
fn encode_v2(request: &WriteRequestProto, order: &[usize]) -> Request {
    let mut strings: Vec<&str> = Vec::new();
    for series in &request.timeseries {
        for label in &series.labels {
            for text in [label.name.as_str(), label.value.as_str()] {
                if !text.is_empty() && !strings.contains(&text) {
                    strings.push(text);
                }
            }
        }
    }
    for (i, &j) in order.iter().enumerate() {
        if i < strings.len() {
            let j = j % strings.len();
            strings.swap(i, j);
        }
    }
    let mut symbols = vec![String::new()];
    symbols.extend(strings.iter().map(|text| text.to_string()));
    let find = |text: &str| symbols.iter().position(|x| x == text).unwrap() as u32;
    let timeseries = request
        .timeseries
        .iter()
        .map(|series| TimeSeries {
            labels_refs: series
                .labels
                .iter()
                .flat_map(|label| [find(&label.name), find(&label.value)])
                .collect(),
            samples: series
                .samples
                .iter()
                .map(|s| Sample {
                    value: s.value,
                    timestamp: s.timestamp,
                    start_timestamp: s.timestamp - 1,
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    Request {
        symbols,
        timeseries,
    }
}

fn v1_request() -> impl Strategy<Value = WriteRequestProto> {
    let name = prop_oneof![
        Just("__name__".to_string()),
        "[a-zA-Z_][a-zA-Z0-9_]{0,5}",
        Just("bad-name".to_string())
    ];
    let value = prop_oneof![
        Just(String::new()),
        "[a-z0-9:]{1,5}",
        Just("9x".to_string())
    ];
    let label = (name, value).prop_map(|(name, value)| LabelProto { name, value });
    let value = prop_oneof![any::<f64>(), Just(f64::from_bits(STALE_NAN_BITS))];
    let sample = (-9_000_000_000_000i64..9_000_000_000_000, value)
        .prop_map(|(timestamp, value)| SampleProto { value, timestamp });
    let series = (
        prop::collection::vec(label, 0..5),
        prop::collection::vec(sample, 0..4),
    )
        .prop_map(|(mut labels, samples)| {
            labels.sort_by(|a, b| a.name.cmp(&b.name));
            TimeSeriesProto {
                labels,
                samples,
                histograms: Vec::new(),
            }
        });
    prop::collection::vec(series, 0..8).prop_map(|mut timeseries| {
        if timeseries.len() > 2 {
            let copy = timeseries[0].clone();
            timeseries.push(copy);
        }
        WriteRequestProto {
            timeseries,
            metadata: Vec::new(),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The same samples sent as 1.0 and as 2.0 (symbols in any order) become the same rows:
    /// the same series keys, identities, times and values, and the same refusals.
    #[test]
    fn the_same_samples_as_1_0_and_2_0_give_the_same_rows(
        request in v1_request(),
        order in prop::collection::vec(any::<usize>(), 0..16),
    ) {
        let limits = IngestLimits::default();
        let v1_body = compress(&request.encode_to_vec());
        let from_v1 = remote_write::to_batch(remote_write::decode_request(&v1_body, 1 << 24).unwrap(), &limits);
        let v2_body = compress(&encode_v2(&request, &order).encode_to_vec());
        let from_v2 = to_batch(&decode_request(&v2_body, 1 << 24).unwrap(), &limits, NameValidation::Legacy, BUDGET).unwrap();
        prop_assert_eq!(&from_v2.batch, &from_v1.batch);
        prop_assert_eq!(from_v2.stale_markers, from_v1.stale_markers);
    }

    #[test]
    fn arbitrary_bodies_never_panic(body in prop::collection::vec(any::<u8>(), 0..1024)) {
        if let Ok(request) = Request::decode(body.as_slice()) {
            let _ = legacy(&request);
            let _ = to_batch(&request, &IngestLimits::default(), NameValidation::Utf8, 1 << 12);
        }
        if let Ok(request) = decode_request(&body, 1 << 16) {
            let _ = legacy(&request);
        }
    }

    #[test]
    fn arbitrary_requests_never_panic(
        symbols in prop::collection::vec("[a-z_]{0,3}", 0..6),
        series in prop::collection::vec((
            prop::collection::vec(0u32..8, 0..7),
            prop::collection::vec(any::<i64>(), 0..3),
            0usize..2,
            prop::option::of((0i32..9, 0u32..8, 0u32..8)),
        ), 0..6),
    ) {
        let request = Request {
            symbols,
            timeseries: series.into_iter().map(|(labels_refs, times, histograms, metadata)| TimeSeries {
                labels_refs,
                samples: times.into_iter().map(|t| sample(t, 1.0)).collect(),
                histograms: vec![Histogram::default(); histograms],
                metadata: metadata.map(|(r#type, help_ref, unit_ref)| Metadata { r#type, help_ref, unit_ref }),
                ..Default::default()
            }).collect(),
        };
        let decoded = legacy(&request);
        for rows in &decoded.batch.series {
            prop_assert!(rows.key.tags.windows(2).all(|pair| pair[0].0 < pair[1].0));
            prop_assert_eq!(rows.times.len(), floats(rows).len());
        }
    }
}
