//! The rows of one write request, series-major: what every ingest protocol decodes into and
//! what the writer commits.
//!
//! A request's points are grouped by series while they are decoded: each series key is built
//! once per request (never per point), and each series' rows are columns: timestamps, and per
//! field its values and the rows they belong to. Memory follows the values a request carries,
//! however wide or sparse its rows are, and a remote_write series of a thousand samples is two
//! vectors rather than a thousand points.

use std::sync::OnceLock;

use tidemark_storage::tsdb::{DataPoint, FieldType, SeriesKey};

use crate::error::LineError;

/// A keyed 128-bit hash of a series as the client sent it (line protocol's series section,
/// remote_write's labels in order): the writer's cache key, so a known series is found without
/// building its canonical key. Keyed with a per-process random seed, so clients cannot craft
/// colliding series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesIdentity(pub u128);

impl SeriesIdentity {
    /// Hashes byte strings in order (each one framed, so `("ab", "c")` and `("a", "bc")`
    /// differ).
    pub fn of<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> Self {
        static SEED: OnceLock<u64> = OnceLock::new();
        let seed = *SEED.get_or_init(rand::random);
        let mut hasher = xxhash_rust::xxh3::Xxh3::with_seed(seed);
        for part in parts {
            hasher.update(&(part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        Self(hasher.digest128())
    }
}

/// The line (or remote_write series number) each row came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineNumbers {
    /// Every row comes from the same line or series.
    All(u32),
    /// One number per row.
    PerRow(Vec<u32>),
}

impl LineNumbers {
    /// The number of row `row`.
    pub fn of(&self, row: usize) -> usize {
        match self {
            Self::All(line) => *line as usize,
            Self::PerRow(lines) => lines.get(row).copied().unwrap_or(0) as usize,
        }
    }

    fn push(&mut self, rows_before: usize, line: u32) {
        match self {
            Self::All(same) if *same == line => {}
            Self::All(_) if rows_before == 0 => *self = Self::All(line),
            Self::All(same) => {
                let mut lines = vec![*same; rows_before];
                lines.push(line);
                *self = Self::PerRow(lines);
            }
            Self::PerRow(lines) => lines.push(line),
        }
    }
}

/// Which rows of a series a column has values in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    /// Every row so far (the column's values are rows `0..values.len()`).
    Dense,
    /// These rows, ascending.
    Sparse(Vec<u32>),
}

/// The present values of one field column, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    /// Floats.
    F64(Vec<f64>),
    /// Integers.
    I64(Vec<i64>),
    /// Unsigned integers.
    U64(Vec<u64>),
    /// Booleans.
    Bool(Vec<bool>),
    /// Strings.
    Str(Vec<String>),
}

impl ColumnData {
    fn empty(kind: FieldType) -> Self {
        match kind {
            FieldType::Float => Self::F64(Vec::new()),
            FieldType::Integer => Self::I64(Vec::new()),
            FieldType::UInteger => Self::U64(Vec::new()),
            FieldType::Boolean => Self::Bool(Vec::new()),
            FieldType::String => Self::Str(Vec::new()),
        }
    }

    /// The field type of the column.
    pub fn kind(&self) -> FieldType {
        match self {
            Self::F64(_) => FieldType::Float,
            Self::I64(_) => FieldType::Integer,
            Self::U64(_) => FieldType::UInteger,
            Self::Bool(_) => FieldType::Boolean,
            Self::Str(_) => FieldType::String,
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Self::F64(values) => values.len(),
            Self::I64(values) => values.len(),
            Self::U64(values) => values.len(),
            Self::Bool(values) => values.len(),
            Self::Str(values) => values.len(),
        }
    }

    /// True when the column holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn push(&mut self, value: DataPoint) {
        match (self, value) {
            (Self::F64(values), DataPoint::F64(value)) => values.push(value),
            (Self::I64(values), DataPoint::I64(value)) => values.push(value),
            (Self::U64(values), DataPoint::U64(value)) => values.push(value),
            (Self::Bool(values), DataPoint::Bool(value)) => values.push(value),
            (Self::Str(values), DataPoint::Str(value)) => values.push(value),
            // Callers check the type first (`SeriesRows::push_row`).
            _ => debug_assert!(false, "value of another type pushed to a column"),
        }
    }

    /// Bytes the values take (strings by their length).
    fn bytes(&self) -> usize {
        match self {
            Self::Str(values) => values.iter().map(|value| value.len() + 24).sum(),
            Self::Bool(values) => values.len(),
            _ => self.len() * 8,
        }
    }

    /// The values at `indices` (positions in this column).
    fn select(&self, indices: &[usize]) -> Self {
        fn pick<T: Clone>(values: &[T], indices: &[usize]) -> Vec<T> {
            indices.iter().map(|index| values[*index].clone()).collect()
        }
        match self {
            Self::F64(values) => Self::F64(pick(values, indices)),
            Self::I64(values) => Self::I64(pick(values, indices)),
            Self::U64(values) => Self::U64(pick(values, indices)),
            Self::Bool(values) => Self::Bool(pick(values, indices)),
            Self::Str(values) => Self::Str(pick(values, indices)),
        }
    }
}

/// One field of a series' rows.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldColumn {
    /// Field name.
    pub name: String,
    /// The rows the values belong to.
    pub presence: Presence,
    /// The present values, in row order.
    pub values: ColumnData,
}

impl FieldColumn {
    /// A column holding `values` in every row.
    pub fn dense(name: impl Into<String>, values: ColumnData) -> Self {
        Self {
            name: name.into(),
            presence: Presence::Dense,
            values,
        }
    }

    /// The row of the column's `index`th value.
    pub fn row_of(&self, index: usize) -> usize {
        match &self.presence {
            Presence::Dense => index,
            Presence::Sparse(rows) => rows[index] as usize,
        }
    }

    fn push(&mut self, row: usize, value: DataPoint) {
        let present = self.values.len();
        if let Presence::Dense = self.presence
            && present != row
        {
            self.presence = Presence::Sparse((0..present as u32).collect());
        }
        if let Presence::Sparse(rows) = &mut self.presence {
            rows.push(row as u32);
        }
        self.values.push(value);
    }
}

/// One series' rows of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRows {
    /// Measurement and sorted tags.
    pub key: SeriesKey,
    /// The series as the client sent it (the writer's cache key).
    pub identity: SeriesIdentity,
    /// The line of each row.
    pub lines: LineNumbers,
    /// Timestamps (ns), one per row, in arrival order.
    pub times: Vec<i64>,
    /// Field columns.
    pub columns: Vec<FieldColumn>,
}

impl SeriesRows {
    /// A series without rows.
    pub fn new(key: SeriesKey, identity: SeriesIdentity, line: u32) -> Self {
        Self {
            key,
            identity,
            lines: LineNumbers::All(line),
            times: Vec::new(),
            columns: Vec::new(),
        }
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.times.len()
    }

    /// Present field values.
    pub fn values(&self) -> usize {
        self.columns.iter().map(|column| column.values.len()).sum()
    }

    /// Appends one row made of `fields` (drained), or refuses it whole (nothing appended, the
    /// fields left in place) when a field has another type than the same field in earlier rows
    /// of this series.
    pub fn push_row<N: AsRef<str>>(
        &mut self,
        line: u32,
        time: i64,
        fields: &mut Vec<(N, DataPoint)>,
    ) -> Result<(), String> {
        for (name, value) in fields.iter() {
            let name = name.as_ref();
            if let Some(column) = self.columns.iter().find(|column| column.name == name) {
                let kind = crate::writer::field_type(value);
                if column.values.kind() != kind {
                    return Err(format!(
                        "field {name:?} is {} here but {} earlier in this request",
                        kind.name(),
                        column.values.kind().name()
                    ));
                }
            }
        }
        let row = self.rows();
        self.lines.push(row, line);
        self.times.push(time);
        for (name, value) in fields.drain(..) {
            let name = name.as_ref();
            let index = match self.columns.iter().position(|column| column.name == name) {
                Some(index) => index,
                None => {
                    let kind = crate::writer::field_type(&value);
                    let presence = match row {
                        0 => Presence::Dense,
                        _ => Presence::Sparse(Vec::new()),
                    };
                    self.columns.push(FieldColumn {
                        name: name.to_owned(),
                        presence,
                        values: ColumnData::empty(kind),
                    });
                    self.columns.len() - 1
                }
            };
            self.columns[index].push(row, value);
        }
        Ok(())
    }

    /// The rows for which `keep` is true, as a series of their own.
    pub fn retain_rows(&self, keep: impl Fn(usize) -> bool) -> SeriesRows {
        let kept: Vec<usize> = (0..self.rows()).filter(|row| keep(*row)).collect();
        let mut position = vec![u32::MAX; self.rows()];
        for (new, old) in kept.iter().enumerate() {
            position[*old] = new as u32;
        }
        let columns = self
            .columns
            .iter()
            .filter_map(|column| {
                let (indices, rows): (Vec<usize>, Vec<u32>) = (0..column.values.len())
                    .filter_map(|index| {
                        let row = position[column.row_of(index)];
                        (row != u32::MAX).then_some((index, row))
                    })
                    .unzip();
                (!indices.is_empty()).then(|| FieldColumn {
                    name: column.name.clone(),
                    presence: Presence::Sparse(rows),
                    values: column.values.select(&indices),
                })
            })
            .collect();
        let lines = match &self.lines {
            LineNumbers::All(line) => LineNumbers::All(*line),
            LineNumbers::PerRow(lines) => {
                LineNumbers::PerRow(kept.iter().map(|row| lines[*row]).collect())
            }
        };
        SeriesRows {
            key: self.key.clone(),
            identity: self.identity,
            lines,
            times: kept.iter().map(|row| self.times[*row]).collect(),
            columns,
        }
    }

    /// Bytes the rows take in memory, roughly (what the writer's queue is bounded by).
    pub fn memory_bytes(&self) -> usize {
        let key = self.key.measurement.len()
            + self
                .key
                .tags
                .iter()
                .map(|(key, value)| key.len() + value.len() + 48)
                .sum::<usize>();
        let columns: usize = self
            .columns
            .iter()
            .map(|column| {
                let rows = match &column.presence {
                    Presence::Dense => 0,
                    Presence::Sparse(rows) => rows.len() * 4,
                };
                column.name.len() + 64 + rows + column.values.bytes()
            })
            .sum();
        let lines = match &self.lines {
            LineNumbers::All(_) => 0,
            LineNumbers::PerRow(lines) => lines.len() * 4,
        };
        128 + key + columns + lines + self.times.len() * 8
    }
}

/// A decoded request: its series, and the lines (or series) refused while decoding.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct WriteBatch {
    /// The rows to write, by series.
    pub series: Vec<SeriesRows>,
    /// Refused lines, by line number.
    pub errors: Vec<LineError>,
}

impl WriteBatch {
    /// Rows (points) to write.
    pub fn points(&self) -> usize {
        self.series.iter().map(SeriesRows::rows).sum()
    }

    /// Field values to write.
    pub fn values(&self) -> usize {
        self.series.iter().map(SeriesRows::values).sum()
    }

    /// Bytes the batch takes in memory, roughly.
    pub fn memory_bytes(&self) -> usize {
        self.series.iter().map(SeriesRows::memory_bytes).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> SeriesRows {
        let key = SeriesKey::new("m", vec![]);
        SeriesRows::new(key, SeriesIdentity::of([&b"m"[..]]), 1)
    }

    #[test]
    fn columns_stay_dense_until_a_row_lacks_them() {
        let mut series = rows();
        series
            .push_row(1, 10, &mut vec![("a", DataPoint::F64(1.0))])
            .unwrap();
        series
            .push_row(
                2,
                20,
                &mut vec![("a", DataPoint::F64(2.0)), ("b", DataPoint::I64(5))],
            )
            .unwrap();
        series
            .push_row(3, 30, &mut vec![("b", DataPoint::I64(6))])
            .unwrap();
        // `a` is in rows 0 and 1: still the first rows, so still dense.
        assert_eq!(series.columns[0].presence, Presence::Dense);
        assert_eq!(series.columns[1].presence, Presence::Sparse(vec![1, 2]));
        assert_eq!(series.lines, LineNumbers::PerRow(vec![1, 2, 3]));
        let error = series
            .push_row(4, 40, &mut vec![("a", DataPoint::Str("x".into()))])
            .unwrap_err();
        assert!(error.contains("\"a\" is string here but float"), "{error}");
        assert_eq!(series.rows(), 3, "a refused row leaves nothing behind");
        let kept = series.retain_rows(|row| row != 1);
        assert_eq!(kept.times, vec![10, 30]);
        assert_eq!(kept.columns[0].values, ColumnData::F64(vec![1.0]));
        assert_eq!(kept.columns[1].presence, Presence::Sparse(vec![1]));
        assert_eq!(kept.lines.of(1), 3);
    }

    #[test]
    fn dense_columns_need_no_row_list() {
        let mut series = rows();
        for row in 0..100 {
            series
                .push_row(7, row, &mut vec![("v", DataPoint::F64(row as f64))])
                .unwrap();
        }
        assert_eq!(series.columns[0].presence, Presence::Dense);
        let dense = FieldColumn::dense("v", ColumnData::F64(vec![1.0; 3]));
        assert_eq!(dense.row_of(2), 2);
        assert_eq!(series.lines, LineNumbers::All(7));
    }

    #[test]
    fn identities_frame_their_parts() {
        assert_ne!(
            SeriesIdentity::of([&b"ab"[..], b"c"]),
            SeriesIdentity::of([&b"a"[..], b"bc"])
        );
        assert_eq!(
            SeriesIdentity::of([&b"x"[..]]),
            SeriesIdentity::of([&b"x"[..]])
        );
    }
}
