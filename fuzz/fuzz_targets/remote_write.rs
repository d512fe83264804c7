//! remote_write bodies come from any sender on the network: Snappy framing, protobuf, labels
//! and samples are all untrusted. Decoding and mapping to series must never panic, never
//! inflate past the limit, and never keep a series past the label bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidemark_ingest::IngestLimits;
use tidemark_ingest::remote_write::{decode_request, to_batch};

const LIMIT: usize = 1 << 20;

fuzz_target!(|body: &[u8]| {
    if let Ok(request) = decode_request(body, LIMIT) {
        let limits = IngestLimits::default();
        let decoded = to_batch(request, &limits);
        assert!(decoded.batch.points() <= LIMIT);
        for series in &decoded.batch.series {
            assert!(series.key.tags.len() <= limits.max_tags_per_series);
            for (_, value) in &series.key.tags {
                assert!(value.len() <= limits.max_tag_value_bytes);
            }
        }
    }
});
