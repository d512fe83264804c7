use proptest::prelude::*;

use super::*;

fn special_floats() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        any::<u64>().prop_map(f64::from_bits),
        Just(f64::NAN),
        Just(-f64::NAN),
        Just(f64::from_bits(0x7ff0_0000_0000_0001)),
        Just(0.0),
        Just(-0.0),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::MIN_POSITIVE),
        Just(f64::MAX),
        Just(f64::MIN),
        (0i64..100_000).prop_map(|cents| cents as f64 / 100.0),
    ]
}

fn column(rows: usize) -> impl Strategy<Value = ColumnValues> {
    let sparse = |p: f64| prop::option::weighted(p, Just(()));
    prop_oneof![
        prop::collection::vec(prop::option::weighted(0.8, special_floats()), rows)
            .prop_map(ColumnValues::F64),
        prop::collection::vec(prop::option::weighted(0.8, any::<i64>()), rows)
            .prop_map(ColumnValues::I64),
        prop::collection::vec(prop::option::weighted(0.8, any::<u64>()), rows)
            .prop_map(ColumnValues::U64),
        prop::collection::vec(prop::option::weighted(0.8, any::<bool>()), rows)
            .prop_map(ColumnValues::Bool),
        prop::collection::vec(prop::option::weighted(0.8, ".{0,40}"), rows)
            .prop_map(ColumnValues::Str),
        prop::collection::vec(sparse(0.1), rows)
            .prop_map(|mask| ColumnValues::I64(mask.into_iter().map(|m| m.map(|()| 7)).collect())),
    ]
}

fn timestamps(rows: usize) -> impl Strategy<Value = Vec<i64>> {
    prop_oneof![
        prop::collection::vec(any::<i64>(), rows),
        (any::<i64>(), 1i64..100_000_000_000).prop_map(move |(start, step)| {
            (0..rows as i64)
                .map(|index| start.wrapping_add(step.wrapping_mul(index)))
                .collect()
        }),
        prop::collection::vec(
            prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0), Just(-1)],
            rows
        ),
    ]
}

fn block() -> impl Strategy<Value = Block> {
    prop_oneof![0usize..8, 60usize..200].prop_flat_map(|rows| {
        (
            timestamps(rows),
            prop::collection::vec(("[a-z_]{1,8}", column(rows)), 0..5),
        )
            .prop_map(|(timestamps, columns)| Block {
                timestamps,
                columns: columns
                    .into_iter()
                    .map(|(name, values)| Column { name, values })
                    .collect(),
            })
    })
}

/// Compares floats by bit pattern, so NaN payloads and signed zeros count.
fn bits(block: &Block) -> Block {
    let mut copy = block.clone();
    for column in &mut copy.columns {
        if let ColumnValues::F64(values) = &column.values {
            column.values = ColumnValues::U64(values.iter().map(|v| v.map(f64::to_bits)).collect());
        }
    }
    copy
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_block_decodes_to_exactly_what_was_encoded(block in block()) {
        let decoded = Block::decode(&block.encode()).expect("decodes");
        prop_assert_eq!(bits(&decoded), bits(&block));
    }

    #[test]
    fn decoding_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = Block::decode(&bytes);
    }

    #[test]
    fn truncated_blocks_are_errors_not_panics(block in block(), cut in any::<prop::sample::Index>()) {
        let encoded = block.encode();
        let cut = cut.index(encoded.len());
        if cut < encoded.len() {
            prop_assert!(Block::decode(&encoded[..cut]).is_err());
        }
    }
}

#[test]
fn regular_series_compress_well() {
    // 1,000 rows every 10 s of 2-decimal values: the shape of TSBS cpu-only data.
    let timestamps: Vec<i64> = (0..1_000)
        .map(|index| 1_700_000_000_000_000_000 + index * 10_000_000_000)
        .collect();
    let values = (0..1_000)
        .map(|index| Some(((index * 37 % 1_000) as f64) / 100.0))
        .collect();
    let block = Block {
        timestamps,
        columns: vec![Column {
            name: "usage_user".into(),
            values: ColumnValues::F64(values),
        }],
    };
    let encoded = block.encode();
    assert!(
        encoded.len() < 1_000 * 3,
        "{} bytes for 1,000 rows",
        encoded.len()
    );
    assert_eq!(Block::decode(&encoded).unwrap(), block);
}

#[test]
fn empty_strings_and_sparse_fields_round_trip() {
    let block = Block {
        timestamps: vec![1, 2, 3],
        columns: vec![
            Column {
                name: "s".into(),
                values: ColumnValues::Str(vec![Some(String::new()), None, Some("é\"\\".into())]),
            },
            Column {
                name: "b".into(),
                values: ColumnValues::Bool(vec![None, Some(false), None]),
            },
        ],
    };
    assert_eq!(Block::decode(&block.encode()).unwrap(), block);
    assert_eq!(block.field_values(), 3);
}

#[test]
fn hostile_counts_are_refused_before_allocating() {
    // Found by the block_decode fuzz target: pcodec's header claimed billions of values and the
    // decoder allocated 3.4 GB before noticing.
    let input = include_bytes!("testdata/pco_huge_count.bin");
    assert!(Block::decode(input).is_err());
    // An LZ4 string section whose size prefix claims 4 GiB.
    let mut block = Block {
        timestamps: vec![1],
        columns: vec![Column {
            name: "s".into(),
            values: ColumnValues::Str(vec![Some("x".repeat(200))]),
        }],
    }
    .encode();
    // The section is LZ4 of a 2-byte length varint plus 200 bytes, prefixed with that size.
    let position = block
        .windows(4)
        .rposition(|window| u32::from_le_bytes(window.try_into().unwrap()) == 202)
        .expect("size prefix");
    block[position..position + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(Block::decode(&block).is_err());
}

#[test]
fn highly_compressible_chunks_decode() {
    // Found by the SIGKILL crash test after compaction: values equal to their timestamps compress
    // to far fewer bytes than rows, which an earlier size-proportional bound rejected.
    let rows = 20_000;
    let timestamps: Vec<i64> = (0..rows).collect();
    let values = (0..rows).map(|t| Some(t as f64)).collect();
    let block = Block {
        timestamps,
        columns: vec![Column {
            name: "v".into(),
            values: ColumnValues::F64(values),
        }],
    };
    let encoded = block.encode();
    assert!(encoded.len() < rows as usize / 8, "{} bytes", encoded.len());
    assert_eq!(Block::decode(&encoded).unwrap(), block);
}

#[test]
fn blocks_beyond_the_row_limit_are_split() {
    let rows = MAX_BLOCK_ROWS as i64 + 10;
    let block = Block {
        timestamps: (0..rows).collect(),
        columns: vec![],
    };
    let parts = block.encode_parts(MAX_BLOCK_BYTES);
    assert_eq!(parts.len(), 2);
    let decoded: usize = parts
        .iter()
        .map(|part| Block::decode(part).unwrap().rows())
        .sum();
    assert_eq!(decoded, rows as usize);
}
