//! Byte-level pieces of the block format: varints, bitmaps and the per-type value encodings.

use pco::ChunkConfig;
use pco::standalone::{DecompressorItem, FileDecompressor, simple_compress};

use super::{BlockError, ColumnValues, LZ4_MIN_BYTES, PCO_MIN_VALUES};

#[derive(Default)]
pub(super) struct Writer {
    buffer: Vec<u8>,
}

impl Writer {
    pub(super) fn byte(&mut self, value: u8) {
        self.buffer.push(value);
    }

    pub(super) fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.buffer.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.buffer.push(value as u8);
    }

    pub(super) fn raw(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    pub(super) fn bytes_with_len(&mut self, bytes: &[u8]) {
        self.varint(bytes.len() as u64);
        self.raw(bytes);
    }

    pub(super) fn finish(self) -> Vec<u8> {
        self.buffer
    }
}

pub(super) struct Reader<'a> {
    input: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(input: &'a [u8]) -> Self {
        Self { input }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.input.is_empty()
    }

    pub(super) fn byte(&mut self, what: &'static str) -> Result<u8, BlockError> {
        let (first, rest) = self
            .input
            .split_first()
            .ok_or(BlockError::Truncated(what))?;
        self.input = rest;
        Ok(*first)
    }

    pub(super) fn varint(&mut self, what: &'static str) -> Result<u64, BlockError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte(what)?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(BlockError::Corrupt(what))
    }

    /// A varint used as a length or count, bounded by the input size to stop hostile
    /// allocations.
    pub(super) fn varint_len(
        &mut self,
        what: &'static str,
        bound: usize,
    ) -> Result<usize, BlockError> {
        let value = self.varint(what)?;
        usize::try_from(value)
            .ok()
            .filter(|len| *len <= bound.saturating_mul(8).max(64))
            .ok_or(BlockError::Corrupt(what))
    }

    pub(super) fn raw(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], BlockError> {
        if self.input.len() < len {
            return Err(BlockError::Truncated(what));
        }
        let (taken, rest) = self.input.split_at(len);
        self.input = rest;
        Ok(taken)
    }

    pub(super) fn bytes_with_len(&mut self, what: &'static str) -> Result<&'a [u8], BlockError> {
        let len = self.varint(what)?;
        let len = usize::try_from(len).map_err(|_| BlockError::Truncated(what))?;
        self.raw(len, what)
    }
}

fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

pub(super) fn pack_bits(bits: &[bool]) -> Vec<u8> {
    let mut packed = vec![0u8; bits.len().div_ceil(8)];
    for (index, bit) in bits.iter().enumerate() {
        if *bit {
            packed[index / 8] |= 1 << (index % 8);
        }
    }
    packed
}

pub(super) fn unpack_bits(packed: &[u8], count: usize) -> Vec<bool> {
    (0..count)
        .map(|index| packed[index / 8] & (1 << (index % 8)) != 0)
        .collect()
}

const MODE_PLAIN: u8 = 0;
const MODE_PCO: u8 = 1;
/// Floats that are exact decimals with few digits (`12.34`): scaled integers, delta varints.
const MODE_DECIMAL: u8 = 2;
/// Most decimal digits tried for [`MODE_DECIMAL`].
const MAX_DECIMAL_DIGITS: i32 = 6;

/// The smallest number of decimal digits that represents every value exactly, as
/// `scaled / 10^digits` with `|scaled| < 2^53` (so it is an exact float too).
fn decimal_digits(values: &[f64]) -> Option<i32> {
    (0..=MAX_DECIMAL_DIGITS).find(|digits| {
        let scale = 10f64.powi(*digits);
        values.iter().all(|value| {
            let scaled = (value * scale).round();
            // Through i64 exactly as the decoder goes, so -0.0 and NaN never qualify.
            scaled.abs() < 9_007_199_254_740_992.0
                && ((scaled as i64) as f64 / scale).to_bits() == value.to_bits()
        })
    })
}

fn pco_bytes<T: pco::data_types::Number>(values: &[T]) -> Vec<u8> {
    // Compressing an in-memory slice with the default config only fails on invalid configs.
    simple_compress(values, &ChunkConfig::default()).unwrap_or_default()
}

/// Decompresses at most `expected` numbers. pcodec's headers are untrusted input (a block may be
/// corrupt): counts are checked against what the block declares before anything is allocated.
fn pco_values<T: pco::data_types::Number>(
    bytes: &[u8],
    expected: usize,
    what: &'static str,
) -> Result<Vec<T>, BlockError> {
    let corrupt = |_| BlockError::Corrupt(what);
    let (file, mut src) = FileDecompressor::new(bytes).map_err(corrupt)?;
    let file = file.with_max_prealloc(expected.saturating_mul(std::mem::size_of::<T>()));
    let mut values: Vec<T> = Vec::with_capacity(expected);
    loop {
        let mut chunk = match file.chunk_decompressor::<T, &[u8]>(src).map_err(corrupt)? {
            DecompressorItem::EndOfData(_) => return Ok(values),
            DecompressorItem::Chunk(chunk) => chunk,
        };
        let count = chunk.n();
        if count > expected - values.len() {
            return Err(BlockError::Corrupt(what));
        }
        let start = values.len();
        values.resize(start + count, T::default());
        let mut done = 0;
        while done < count {
            let progress = chunk.read(&mut values[start + done..]).map_err(corrupt)?;
            done += progress.n_processed;
            if progress.finished || progress.n_processed == 0 {
                break;
            }
        }
        if done != count {
            return Err(BlockError::Corrupt(what));
        }
        src = chunk.into_src();
    }
}

/// Timestamps: delta-of-delta zigzag varints (regular intervals cost one byte), or pcodec.
pub(super) fn write_timestamps(out: &mut Writer, timestamps: &[i64]) {
    let mut section = Writer::default();
    if timestamps.len() >= PCO_MIN_VALUES {
        section.byte(MODE_PCO);
        section.raw(&pco_bytes(timestamps));
    } else {
        section.byte(MODE_PLAIN);
        let mut previous = 0i64;
        let mut previous_delta = 0i64;
        for timestamp in timestamps {
            let delta = timestamp.wrapping_sub(previous);
            section.varint(zigzag(delta.wrapping_sub(previous_delta)));
            previous = *timestamp;
            previous_delta = delta;
        }
    }
    out.bytes_with_len(&section.finish());
}

pub(super) fn read_timestamps(input: &mut Reader<'_>, rows: usize) -> Result<Vec<i64>, BlockError> {
    let mut section = Reader::new(input.bytes_with_len("timestamps")?);
    let timestamps = match section.byte("timestamp mode")? {
        MODE_PCO => pco_values(section.input, rows, "timestamps")?,
        MODE_PLAIN => {
            let mut timestamps = Vec::with_capacity(rows);
            let mut previous = 0i64;
            let mut previous_delta = 0i64;
            for _ in 0..rows {
                let delta = previous_delta.wrapping_add(unzigzag(section.varint("timestamp")?));
                let timestamp = previous.wrapping_add(delta);
                timestamps.push(timestamp);
                previous = timestamp;
                previous_delta = delta;
            }
            timestamps
        }
        value => {
            return Err(BlockError::InvalidTag {
                what: "timestamp mode",
                value,
            });
        }
    };
    if timestamps.len() != rows {
        return Err(BlockError::Length {
            column: "time".into(),
            found: timestamps.len(),
            expected: rows,
        });
    }
    Ok(timestamps)
}

fn present<T: Copy>(values: &[Option<T>]) -> Vec<T> {
    values.iter().flatten().copied().collect()
}

pub(super) fn encode_values(values: &ColumnValues) -> Vec<u8> {
    let mut out = Writer::default();
    match values {
        ColumnValues::F64(values) => {
            let values = present(values);
            if values.len() >= PCO_MIN_VALUES {
                out.byte(MODE_PCO);
                // Bit patterns, not floats: pcodec keeps them exactly, NaN payloads included.
                out.raw(&pco_bytes(&values));
            } else if let Some(digits) = decimal_digits(&values) {
                out.byte(MODE_DECIMAL);
                out.byte(digits as u8);
                let scale = 10f64.powi(digits);
                let mut previous = 0i64;
                for value in values {
                    let scaled = (value * scale).round() as i64;
                    out.varint(zigzag(scaled.wrapping_sub(previous)));
                    previous = scaled;
                }
            } else {
                out.byte(MODE_PLAIN);
                for value in values {
                    out.raw(&value.to_bits().to_le_bytes());
                }
            }
        }
        ColumnValues::I64(values) => encode_integers(&mut out, &present(values), zigzag),
        ColumnValues::U64(values) => encode_integers(&mut out, &present(values), |value| value),
        ColumnValues::Bool(values) => {
            let values: Vec<bool> = present(values);
            out.raw(&pack_bits(&values));
        }
        ColumnValues::Str(values) => {
            let mut plain = Writer::default();
            for value in values.iter().flatten() {
                plain.bytes_with_len(value.as_bytes());
            }
            let plain = plain.finish();
            if plain.len() >= LZ4_MIN_BYTES {
                out.byte(MODE_PCO);
                out.raw(&lz4_flex::compress_prepend_size(&plain));
            } else {
                out.byte(MODE_PLAIN);
                out.raw(&plain);
            }
        }
    }
    out.finish()
}

fn encode_integers<T: pco::data_types::Number>(
    out: &mut Writer,
    values: &[T],
    to_varint: fn(T) -> u64,
) {
    if values.len() >= PCO_MIN_VALUES {
        out.byte(MODE_PCO);
        out.raw(&pco_bytes(values));
    } else {
        out.byte(MODE_PLAIN);
        for value in values {
            out.varint(to_varint(*value));
        }
    }
}

fn decode_integers<T: pco::data_types::Number>(
    input: &mut Reader<'_>,
    count: usize,
    from_varint: fn(u64) -> T,
) -> Result<Vec<T>, BlockError> {
    match input.byte("integer mode")? {
        MODE_PCO => pco_values(input.input, count, "integers"),
        MODE_PLAIN => (0..count)
            .map(|_| input.varint("integer").map(from_varint))
            .collect(),
        value => Err(BlockError::InvalidTag {
            what: "integer mode",
            value,
        }),
    }
}

/// Spreads the present values back over the rows.
fn scatter<T>(
    values: Vec<T>,
    presence: &[bool],
    column: &str,
) -> Result<Vec<Option<T>>, BlockError> {
    let expected = presence.iter().filter(|present| **present).count();
    if values.len() != expected {
        return Err(BlockError::Length {
            column: column.to_owned(),
            found: values.len(),
            expected,
        });
    }
    let mut values = values.into_iter();
    Ok(presence
        .iter()
        .map(|present| if *present { values.next() } else { None })
        .collect())
}

/// LZ4 can expand at most 255:1; a size prefix beyond that (or beyond 64 MiB) is corrupt, and
/// is refused before it is allocated.
fn decompress_strings(compressed: &[u8]) -> Result<Vec<u8>, BlockError> {
    let corrupt = BlockError::Corrupt("strings");
    let prefix: [u8; 4] = compressed
        .get(..4)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(corrupt.clone())?;
    let size = u32::from_le_bytes(prefix) as usize;
    if size > compressed.len().saturating_mul(255) || size > 64 * 1024 * 1024 {
        return Err(corrupt);
    }
    lz4_flex::decompress_size_prepended(compressed).map_err(|_| corrupt)
}

pub(super) fn decode_values(
    type_tag: u8,
    payload: &[u8],
    presence: &[bool],
    column: &str,
) -> Result<ColumnValues, BlockError> {
    let count = presence.iter().filter(|present| **present).count();
    let mut input = Reader::new(payload);
    let values = match type_tag {
        0 => {
            let floats = match input.byte("float mode")? {
                MODE_PCO => pco_values::<f64>(input.input, count, "floats")?,
                MODE_DECIMAL => {
                    let digits = input.byte("decimal digits")?;
                    if i32::from(digits) > MAX_DECIMAL_DIGITS {
                        return Err(BlockError::InvalidTag {
                            what: "decimal digits",
                            value: digits,
                        });
                    }
                    let scale = 10f64.powi(i32::from(digits));
                    let mut previous = 0i64;
                    let mut floats = Vec::with_capacity(count);
                    for _ in 0..count {
                        previous = previous.wrapping_add(unzigzag(input.varint("float")?));
                        floats.push(previous as f64 / scale);
                    }
                    floats
                }
                MODE_PLAIN => {
                    let raw = input.raw(count.saturating_mul(8), "floats")?;
                    raw.chunks_exact(8)
                        .map(|bytes| {
                            f64::from_bits(u64::from_le_bytes(bytes.try_into().unwrap_or_default()))
                        })
                        .collect()
                }
                value => {
                    return Err(BlockError::InvalidTag {
                        what: "float mode",
                        value,
                    });
                }
            };
            ColumnValues::F64(scatter(floats, presence, column)?)
        }
        1 => ColumnValues::I64(scatter(
            decode_integers(&mut input, count, unzigzag)?,
            presence,
            column,
        )?),
        2 => ColumnValues::U64(scatter(
            decode_integers(&mut input, count, |value| value)?,
            presence,
            column,
        )?),
        3 => {
            let bits = unpack_bits(input.raw(count.div_ceil(8), "booleans")?, count);
            ColumnValues::Bool(scatter(bits, presence, column)?)
        }
        4 => {
            let plain = match input.byte("string mode")? {
                MODE_PCO => decompress_strings(input.input)?,
                MODE_PLAIN => input.input.to_vec(),
                value => {
                    return Err(BlockError::InvalidTag {
                        what: "string mode",
                        value,
                    });
                }
            };
            let mut strings = Vec::with_capacity(count);
            let mut reader = Reader::new(&plain);
            while !reader.is_empty() && strings.len() < count {
                let bytes = reader.bytes_with_len("string")?;
                strings.push(
                    String::from_utf8(bytes.to_vec())
                        .map_err(|_| BlockError::Utf8(column.to_owned()))?,
                );
            }
            ColumnValues::Str(scatter(strings, presence, column)?)
        }
        value => {
            return Err(BlockError::InvalidTag {
                what: "type",
                value,
            });
        }
    };
    Ok(values)
}
