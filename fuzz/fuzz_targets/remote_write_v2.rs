//! remote_write 2.0 bodies come from any sender on the network: Snappy framing, protobuf, a
//! symbol table and references into it are all untrusted. Decoding and mapping to series must
//! never panic, never inflate past the limit, never keep a series past the label bounds, and
//! never grow past the decode budget however often a body refers to its largest symbols.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidemark_ingest::IngestLimits;
use tidemark_ingest::remote_write::{NameValidation, RemoteWriteError};
use tidemark_ingest::remote_write_v2::{decode_request, to_batch};

const LIMIT: usize = 1 << 20;
const BUDGET: usize = 8 << 20;

fuzz_target!(|input: &[u8]| {
    let Some((&selector, body)) = input.split_first() else {
        return;
    };
    let Ok(request) = decode_request(body, LIMIT) else {
        return;
    };
    let names = if selector & 1 == 0 {
        NameValidation::Legacy
    } else {
        NameValidation::Utf8
    };
    let limits = IngestLimits::default();
    match to_batch(&request, &limits, names, BUDGET) {
        Ok(decoded) => {
            assert!(decoded.batch.points() <= LIMIT);
            assert_eq!(decoded.exemplars.len(), decoded.batch.series.len());
            for series in &decoded.batch.series {
                assert!(series.key.tags.len() <= limits.max_tags_per_series);
                for (_, value) in &series.key.tags {
                    assert!(value.len() <= limits.max_tag_value_bytes);
                }
            }
            for error in &decoded.batch.errors {
                assert!(error.line >= 1 && error.line <= request.timeseries.len());
                assert!(error.original.chars().count() <= 256);
            }
        }
        Err(RemoteWriteError::Expands { limit }) => assert_eq!(limit, BUDGET),
        Err(other) => panic!("mapping fails only for size: {other}"),
    }
});
