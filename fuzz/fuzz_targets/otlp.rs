//! OTLP/HTTP bodies come from any sender on the network: protobuf or JSON, attribute values
//! nested at any depth, names of any shape, histograms of any width. Decoding and translating
//! must never panic, never keep a series past the write limits, and never grow past the decode
//! budget.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidemark_ingest::IngestLimits;
use tidemark_ingest::otlp::{self, OtlpError, OtlpOptions, TranslationStrategy};

const BUDGET: usize = 8 << 20;

fuzz_target!(|input: &[u8]| {
    let Some((&selector, body)) = input.split_first() else {
        return;
    };
    let request = if selector & 1 == 0 {
        otlp::decode_protobuf(body)
    } else {
        otlp::decode_json(body)
    };
    let Ok(request) = request else {
        return;
    };
    let options = OtlpOptions {
        translation: match selector >> 1 & 3 {
            0 => TranslationStrategy::UnderscoreEscapingWithSuffixes,
            1 => TranslationStrategy::UnderscoreEscapingWithoutSuffixes,
            2 => TranslationStrategy::NoUtf8EscapingWithSuffixes,
            _ => TranslationStrategy::NoTranslation,
        },
        promote_all_resource_attributes: selector & 8 != 0,
        promote_scope_metadata: selector & 16 != 0,
        allow_delta_temporality: selector & 32 == 0,
        ..OtlpOptions::default()
    };
    let limits = IngestLimits::default();
    match otlp::translate(&request, &options, &limits, BUDGET) {
        Ok(batch) => {
            assert_eq!(batch.origins.len(), batch.batch.series.len());
            assert!(batch.batch.memory_bytes() <= 2 * BUDGET);
            for series in &batch.batch.series {
                assert!(series.key.tags.len() <= limits.max_tags_per_series);
                assert!(series.key.tags.windows(2).all(|pair| pair[0].0 < pair[1].0));
                for (_, value) in &series.key.tags {
                    assert!(!value.is_empty() && value.len() <= limits.max_tag_value_bytes);
                }
            }
            let message = batch.rejection_summary(20);
            let _ = otlp::response_protobuf(batch.rejected_points() as i64, &message);
            let _ = otlp::response_json(batch.rejected_points() as i64, &message);
        }
        Err(OtlpError::TooLarge { limit }) => assert_eq!(limit, BUDGET),
        Err(other) => panic!("translation fails only for size: {other}"),
    }
});
