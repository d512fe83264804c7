//! Every request body is untrusted: parsing never panics, every line is either a row or an
//! error with a real line number, and rows are well formed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidemark_ingest::IngestLimits;
use tidemark_ingest::lp::{Precision, parse_lines};

fuzz_target!(|body: &[u8]| {
    let lines = body.iter().filter(|byte| **byte == b'\n').count() + 1;
    let limits = IngestLimits::default();
    for precision in [Precision::Nanosecond, Precision::Auto, Precision::Second] {
        let batch = parse_lines(body, precision, 1_700_000_000_000_000_000, &limits);
        for error in &batch.errors {
            assert!((1..=lines).contains(&error.line), "line {} of {lines}", error.line);
        }
        for series in &batch.series {
            assert!(!series.key.measurement.is_empty());
            assert!(series.key.tags.len() <= limits.max_tags_per_series);
            for row in 0..series.rows() {
                assert!((1..=lines).contains(&series.lines.of(row)));
            }
            for column in &series.columns {
                for index in 0..column.values.len() {
                    assert!(column.row_of(index) < series.rows(), "a value past the rows");
                }
            }
        }
    }
});
