//! Every request body is untrusted: parsing never panics, every line is either a point or an
//! error with a real line number, and points are well formed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidemark_ingest::lp::{Precision, parse_lines};

fuzz_target!(|body: &[u8]| {
    let lines = body.iter().filter(|byte| **byte == b'\n').count() + 1;
    for precision in [Precision::Nanosecond, Precision::Auto, Precision::Second] {
        let batch = parse_lines(body, precision, 1_700_000_000_000_000_000);
        for error in &batch.errors {
            assert!((1..=lines).contains(&error.line), "line {} of {lines}", error.line);
        }
        for point in &batch.points {
            assert!((1..=lines).contains(&point.line));
            assert!(!point.fields.is_empty(), "a point without fields");
            assert!(!point.series.measurement.is_empty());
        }
    }
});
