//! Bytes per field value of the block codec on TSBS cpu-only data, for the block shapes the
//! engine stores: ingest's hot blocks (one per series per write group) and the hourly and daily
//! chunks compaction merges them into.

use std::collections::BTreeMap;

use clap::Args;
use tidemark_ingest::IngestLimits;
use tidemark_ingest::batch::ColumnData;
use tidemark_ingest::lp::{Precision, parse_lines};
use tidemark_storage::block::{Block, Column, ColumnValues};
use tidemark_storage::tsdb::{DataPoint, SeriesKey};

use crate::tsbs;

/// `codec` arguments.
#[derive(Debug, Args)]
pub(crate) struct CodecArgs {
    #[command(flatten)]
    data: tsbs::DataArgs,
    /// Rows per series in a hot block (5,000-line requests over 100 hosts give 50).
    #[arg(long, default_value_t = 50)]
    hot_rows: usize,
}

type Rows = Vec<(i64, Vec<(String, DataPoint)>)>;

fn block(rows: &[(i64, Vec<(String, DataPoint)>)]) -> Block {
    let names: Vec<String> = rows[0].1.iter().map(|(name, _)| name.clone()).collect();
    let columns = names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let values = rows
                .iter()
                .map(|(_, fields)| match fields[index].1 {
                    DataPoint::F64(value) => Some(value),
                    _ => None,
                })
                .collect();
            Column {
                name: name.clone(),
                values: ColumnValues::F64(values),
            }
        })
        .collect();
    Block {
        timestamps: rows.iter().map(|(time, _)| *time).collect(),
        columns,
    }
}

fn bytes_per_value(series: &BTreeMap<SeriesKey, Rows>, rows_per_block: usize) -> f64 {
    let (mut bytes, mut values) = (0usize, 0usize);
    for rows in series.values() {
        for chunk in rows.chunks(rows_per_block) {
            let block = block(chunk);
            bytes += block.encode().len();
            values += block.field_values();
        }
    }
    bytes as f64 / values as f64
}

pub(crate) fn run(args: CodecArgs) -> anyhow::Result<()> {
    let batches = tsbs::batches(
        args.data.hosts,
        args.data.seed,
        args.data.hours * 360,
        10_000,
    );
    let mut series: BTreeMap<SeriesKey, Rows> = BTreeMap::new();
    for batch in &batches {
        let parsed = parse_lines(
            batch.as_bytes(),
            Precision::Nanosecond,
            0,
            &IngestLimits::default(),
        );
        for run in parsed.series {
            let rows = series.entry(run.key.clone()).or_default();
            for (row, time) in run.times.iter().enumerate() {
                // TSBS rows carry every field: each column is dense.
                let fields = run
                    .columns
                    .iter()
                    .map(|column| match &column.values {
                        ColumnData::F64(values) => {
                            (column.name.clone(), DataPoint::F64(values[row]))
                        }
                        other => panic!("TSBS fields are floats, got {:?}", other.kind()),
                    })
                    .collect();
                rows.push((*time, fields));
            }
        }
    }
    println!(
        "tsbs cpu-only, {} hosts x {} h, seed {}: encoded bytes per field value (timestamps included)",
        args.data.hosts, args.data.hours, args.data.seed
    );
    for (label, rows) in [
        ("hot block", args.hot_rows),
        ("hourly chunk", 360),
        ("daily chunk", 8_640),
    ] {
        println!(
            "  {label:<13} ({rows:>5} rows): {:.3}",
            bytes_per_value(&series, rows)
        );
    }
    let (cold, scales) = cold_bytes_per_value(&series)?;
    println!(
        "  {:<13} ({:>5}     ): {cold:.3}  (float columns stored as {scales})",
        "cold Parquet", "file"
    );
    Ok(())
}

/// Bytes per value of the cold tier's Parquet files: one file per 24 hours, every series,
/// exactly as tiering writes them (tags and series ids included in the bytes).
fn cold_bytes_per_value(series: &BTreeMap<SeriesKey, Rows>) -> anyhow::Result<(f64, String)> {
    use tidemark_storage::cold::{SeriesRows, encode_file};
    let day = 86_400 * 1_000_000_000i64;
    let mut files: BTreeMap<i64, Vec<SeriesRows>> = BTreeMap::new();
    for (key, rows) in series {
        let mut by_day: BTreeMap<i64, Rows> = BTreeMap::new();
        for row in rows {
            by_day
                .entry(row.0.div_euclid(day))
                .or_default()
                .push(row.clone());
        }
        for (index, rows) in by_day {
            files.entry(index).or_default().push(SeriesRows {
                series: key.hashed_id(),
                tags: key.tags.clone(),
                block: block(&rows),
            });
        }
    }
    let (mut bytes, mut values) = (0usize, 0u64);
    let mut types = std::collections::BTreeSet::new();
    for mut rows in files.into_values() {
        rows.sort_by_key(|rows| rows.series);
        let file = encode_file("cpu", &rows)?;
        let reader = tidemark_storage::cold::ColdFileReader::open(file.bytes.clone())?;
        for field in reader.schema().fields() {
            if let Some(scale) = match field.data_type() {
                arrow::datatypes::DataType::Decimal128(_, scale) => Some(*scale),
                _ => None,
            } {
                types.insert(format!("DECIMAL(18,{scale})"));
            }
        }
        bytes += file.bytes.len();
        values += file.values;
    }
    let types = if types.is_empty() {
        "doubles".to_string()
    } else {
        types.into_iter().collect::<Vec<_>>().join(", ")
    };
    Ok((bytes as f64 / values as f64, types))
}
