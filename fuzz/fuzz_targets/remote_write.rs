//! remote_write bodies come from any sender on the network: Snappy framing, protobuf, labels
//! and samples are all untrusted. Decoding and mapping to points must never panic, and never
//! inflate past the limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidemark_ingest::remote_write::{decode_request, to_points};

const LIMIT: usize = 1 << 20;

fuzz_target!(|body: &[u8]| {
    if let Ok(request) = decode_request(body, LIMIT) {
        let batch = to_points(request);
        assert!(batch.points.len() <= LIMIT);
    }
});
