//! Columnar blocks: the timestamps of one series plus one column per field, each encoded for its
//! type. Ingest writes one block per series per commit; compaction merges them into chunks of
//! the same format (a chunk is a big block).
//!
//! Format (version 1): `u8 version`, varint rows, the timestamp section, varint column count,
//! then per column: name, type tag, presence (all present, or a bitmap), encoded values of the
//! present rows. Numbers use pcodec once a column is long enough for its header to pay off
//! (pcodec detects decimal structure in floats, which is where TSBS-like data compresses), and a
//! compact hand-rolled form below that: delta-of-delta varints for timestamps, zigzag varints for
//! integers, raw IEEE bits for floats. Strings are length-prefixed and LZ4-compressed when long.

mod encoding;

use encoding::{Reader, Writer};

/// Format version written by this build.
const FORMAT_VERSION: u8 = 1;
/// Columns at least this long use pcodec; shorter ones use the plain encodings.
const PCO_MIN_VALUES: usize = 64;
/// String payloads at least this long are LZ4-compressed.
const LZ4_MIN_BYTES: usize = 128;
/// Most rows in one block. The decoder refuses more (a corrupt header must not make it allocate
/// without bound); `encode_parts` splits larger blocks. Well-compressed data can hold far more
/// rows than bytes, so the bound cannot be proportional to the encoded size.
pub const MAX_BLOCK_ROWS: usize = 1 << 20;
/// Stored blocks stay below this, leaving room under FDB's 100,000-byte value limit.
pub const MAX_BLOCK_BYTES: usize = crate::keys::MAX_VALUE_BYTES - 10_000;

/// Why a block could not be decoded.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum BlockError {
    /// The bytes end before the block does.
    #[error("block truncated while reading {0}")]
    Truncated(&'static str),
    /// The block was written by a newer format.
    #[error("unknown block format version {0}")]
    Version(u8),
    /// A type or mode byte is not one this build knows.
    #[error("invalid {what} byte {value}")]
    InvalidTag {
        /// Which byte.
        what: &'static str,
        /// Its value.
        value: u8,
    },
    /// A section decoded to a different number of values than the block declares.
    #[error("column {column} holds {found} values, expected {expected}")]
    Length {
        /// The column (or `time`).
        column: String,
        /// Values found.
        found: usize,
        /// Values expected.
        expected: usize,
    },
    /// A compressed section is corrupt.
    #[error("corrupt {0} section")]
    Corrupt(&'static str),
    /// A string column holds bytes that are not UTF-8.
    #[error("column {0} holds a string that is not UTF-8")]
    Utf8(String),
}

/// One field column; `None` marks rows where the field is absent.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnValues {
    /// Float field.
    F64(Vec<Option<f64>>),
    /// Integer field.
    I64(Vec<Option<i64>>),
    /// Unsigned integer field.
    U64(Vec<Option<u64>>),
    /// Boolean field.
    Bool(Vec<Option<bool>>),
    /// String field.
    Str(Vec<Option<String>>),
}

impl ColumnValues {
    /// Number of rows, present or not.
    pub fn len(&self) -> usize {
        match self {
            Self::F64(values) => values.len(),
            Self::I64(values) => values.len(),
            Self::U64(values) => values.len(),
            Self::Bool(values) => values.len(),
            Self::Str(values) => values.len(),
        }
    }

    /// True when the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn presence(&self) -> Vec<bool> {
        match self {
            Self::F64(values) => values.iter().map(Option::is_some).collect(),
            Self::I64(values) => values.iter().map(Option::is_some).collect(),
            Self::U64(values) => values.iter().map(Option::is_some).collect(),
            Self::Bool(values) => values.iter().map(Option::is_some).collect(),
            Self::Str(values) => values.iter().map(Option::is_some).collect(),
        }
    }

    fn type_tag(&self) -> u8 {
        match self {
            Self::F64(_) => 0,
            Self::I64(_) => 1,
            Self::U64(_) => 2,
            Self::Bool(_) => 3,
            Self::Str(_) => 4,
        }
    }
}

/// A named field column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Field name.
    pub name: String,
    /// Values, one per row of the block.
    pub values: ColumnValues,
}

/// The points of one series over some time: timestamps (ns) and one column per field.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Block {
    /// Timestamps in nanoseconds, one per row.
    pub timestamps: Vec<i64>,
    /// Field columns, each as long as `timestamps`.
    pub columns: Vec<Column>,
}

impl Block {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.timestamps.len()
    }

    /// Number of present field values.
    pub fn field_values(&self) -> usize {
        self.columns
            .iter()
            .map(|column| {
                column
                    .values
                    .presence()
                    .iter()
                    .filter(|present| **present)
                    .count()
            })
            .sum()
    }

    /// Encodes the block.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Writer::default();
        out.byte(FORMAT_VERSION);
        out.varint(self.timestamps.len() as u64);
        encoding::write_timestamps(&mut out, &self.timestamps);
        out.varint(self.columns.len() as u64);
        for column in &self.columns {
            debug_assert_eq!(column.values.len(), self.timestamps.len(), "ragged block");
            out.bytes_with_len(column.name.as_bytes());
            out.byte(column.values.type_tag());
            let presence = column.values.presence();
            if presence.iter().all(|present| *present) {
                out.byte(0);
            } else {
                out.byte(1);
                out.raw(&encoding::pack_bits(&presence));
            }
            let payload = encoding::encode_values(&column.values);
            out.bytes_with_len(&payload);
        }
        out.finish()
    }

    /// The rows in `rows`, as a block of their own.
    pub fn slice(&self, rows: std::ops::Range<usize>) -> Block {
        let columns = self
            .columns
            .iter()
            .map(|column| {
                let values = match &column.values {
                    ColumnValues::F64(v) => ColumnValues::F64(v[rows.clone()].to_vec()),
                    ColumnValues::I64(v) => ColumnValues::I64(v[rows.clone()].to_vec()),
                    ColumnValues::U64(v) => ColumnValues::U64(v[rows.clone()].to_vec()),
                    ColumnValues::Bool(v) => ColumnValues::Bool(v[rows.clone()].to_vec()),
                    ColumnValues::Str(v) => ColumnValues::Str(v[rows.clone()].to_vec()),
                };
                Column {
                    name: column.name.clone(),
                    values,
                }
            })
            .collect();
        Block {
            timestamps: self.timestamps[rows].to_vec(),
            columns,
        }
    }

    /// Encodes the block as one or more parts of at most `max_bytes` each (halving by rows until
    /// each fits; a single row is never split).
    pub fn encode_parts(&self, max_bytes: usize) -> Vec<Vec<u8>> {
        let mut parts = Vec::new();
        self.encode_into_parts(max_bytes, &mut parts);
        parts
    }

    fn encode_into_parts(&self, max_bytes: usize, parts: &mut Vec<Vec<u8>>) {
        if self.rows() <= MAX_BLOCK_ROWS {
            let encoded = self.encode();
            if encoded.len() <= max_bytes || self.rows() <= 1 {
                parts.push(encoded);
                return;
            }
        }
        let middle = self.rows() / 2;
        self.slice(0..middle).encode_into_parts(max_bytes, parts);
        self.slice(middle..self.rows())
            .encode_into_parts(max_bytes, parts);
    }

    /// Decodes a block.
    pub fn decode(bytes: &[u8]) -> Result<Self, BlockError> {
        Self::decode_projected(bytes, |_| true)
    }

    /// Decodes a block keeping only the columns `wanted` accepts; the others are skipped without
    /// decoding their values (a query reading one field of ten pays for one).
    pub fn decode_projected(
        bytes: &[u8],
        wanted: impl Fn(&str) -> bool,
    ) -> Result<Self, BlockError> {
        let mut input = Reader::new(bytes);
        let version = input.byte("version")?;
        if version != FORMAT_VERSION {
            return Err(BlockError::Version(version));
        }
        let rows = input.varint_len("row count", MAX_BLOCK_ROWS)?;
        let timestamps = encoding::read_timestamps(&mut input, rows)?;
        let column_count = input.varint_len("column count", bytes.len())?;
        // Every column costs at least four bytes of framing.
        if column_count > bytes.len() / 4 {
            return Err(BlockError::Corrupt("column count"));
        }
        let mut columns = Vec::with_capacity(column_count);
        for _ in 0..column_count {
            let name = String::from_utf8(input.bytes_with_len("column name")?.to_vec())
                .map_err(|_| BlockError::Utf8("<column name>".into()))?;
            let type_tag = input.byte("type")?;
            let packed_presence = match input.byte("presence")? {
                0 => None,
                1 => Some(input.raw(rows.div_ceil(8), "presence")?),
                value => {
                    return Err(BlockError::InvalidTag {
                        what: "presence",
                        value,
                    });
                }
            };
            let payload = input.bytes_with_len("values")?;
            if !wanted(&name) {
                continue;
            }
            let presence = match packed_presence {
                None => vec![true; rows],
                Some(packed) => encoding::unpack_bits(packed, rows),
            };
            let values = encoding::decode_values(type_tag, payload, &presence, &name)?;
            columns.push(Column { name, values });
        }
        Ok(Self {
            timestamps,
            columns,
        })
    }
}

#[cfg(test)]
mod tests;
