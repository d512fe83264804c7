//! The Prometheus series of one OTLP request, collected in time linear in the labels and
//! samples added: a label set is hashed from borrowed strings, compared only against series
//! with the same hash, and copied into owned strings once, when its series is new. Samples of
//! equal label sets merge, so each series becomes one run of rows (one series key per request).
//!
//! Translation can multiply a request (a histogram point becomes a series per bucket, promoted
//! resource attributes repeat on every series), so the memory of what is collected is bounded:
//! past the budget nothing more is added and the request is refused whole.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use crate::batch::{ColumnData, FieldColumn, SeriesIdentity, SeriesRows, WriteBatch};
use crate::limits::IngestLimits;
use crate::remote_write::{NameValidation, STALE_NAN_BITS, VALUE_FIELD, series_key_with};

use super::Rejected;

/// Bytes a series costs besides its label strings, and each label besides its name and value
/// (the same shape of estimate as [`SeriesRows::memory_bytes`]).
const SERIES_OVERHEAD: usize = 128;
const LABEL_OVERHEAD: usize = 48;
/// Bytes of one sample (time and value).
const SAMPLE_BYTES: usize = 16;

/// One Prometheus series: labels sorted by name (`__name__` included, no empty values) and
/// `(ms, value)` samples in arrival order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PromSeries {
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) samples: Vec<(i64, f64)>,
    /// Where its first sample came from (`metric "x" point 2`).
    pub(crate) origin: String,
}

/// The series of one request, in the order they first appeared.
pub(crate) struct SeriesSet {
    series: Vec<PromSeries>,
    /// Label-set hash → the series with that hash (almost always one).
    by_hash: HashMap<u64, Vec<usize>>,
    /// Randomly keyed, so a sender cannot choose label sets that collide.
    hasher: RandomState,
    /// Bytes still allowed.
    budget: usize,
    exhausted: bool,
}

impl SeriesSet {
    /// An empty set that may hold about `budget` bytes.
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            series: Vec::new(),
            by_hash: HashMap::new(),
            hasher: RandomState::new(),
            budget,
            exhausted: false,
        }
    }

    /// True once something was refused for want of budget.
    pub(crate) fn exhausted(&self) -> bool {
        self.exhausted
    }

    fn spend(&mut self, bytes: usize) -> bool {
        match self.budget.checked_sub(bytes) {
            Some(left) if !self.exhausted => {
                self.budget = left;
                true
            }
            _ => {
                self.exhausted = true;
                false
            }
        }
    }

    /// The index of the series with exactly these labels (sorted by name, unique names, no
    /// empty values), created without samples if new; `None` when the budget is spent.
    pub(crate) fn index_of(
        &mut self,
        labels: &[(&str, &str)],
        origin: impl FnOnce() -> String,
    ) -> Option<usize> {
        let hash = self.hasher.hash_one(labels);
        let found = self.by_hash.get(&hash).and_then(|candidates| {
            candidates.iter().copied().find(|&index| {
                let existing = &self.series[index].labels;
                existing.len() == labels.len()
                    && existing.iter().zip(labels).all(
                        |((name, value), (other_name, other_value))| {
                            name == other_name && value == other_value
                        },
                    )
            })
        });
        if found.is_some() {
            return found;
        }
        let bytes = SERIES_OVERHEAD
            + labels
                .iter()
                .map(|(name, value)| name.len() + value.len() + LABEL_OVERHEAD)
                .sum::<usize>();
        if !self.spend(bytes) {
            return None;
        }
        let index = self.series.len();
        self.by_hash.entry(hash).or_default().push(index);
        self.series.push(PromSeries {
            labels: labels
                .iter()
                .map(|&(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
            samples: Vec::new(),
            origin: origin(),
        });
        Some(index)
    }

    /// Appends a sample to series `index` (from [`Self::index_of`]) while the budget lasts.
    pub(crate) fn push(&mut self, index: usize, sample: (i64, f64)) {
        if self.spend(SAMPLE_BYTES) {
            self.series[index].samples.push(sample);
        }
    }

    /// Appends a sample to the series with these labels, creating it if new.
    pub(crate) fn add(
        &mut self,
        labels: &[(&str, &str)],
        sample: (i64, f64),
        origin: impl FnOnce() -> String,
    ) {
        if let Some(index) = self.index_of(labels, origin) {
            self.push(index, sample);
        }
    }

    #[cfg(test)]
    pub(crate) fn into_series(self) -> Vec<PromSeries> {
        self.series
    }

    /// The series as rows to write: series `n` (from 1) of the batch came from `origins[n-1]`.
    /// Stale markers are counted, not stored (as remote_write does); a series whose labels
    /// break the write limits is refused on its own.
    pub(crate) fn into_rows(
        self,
        limits: &IngestLimits,
        names: NameValidation,
    ) -> (WriteBatch, Vec<String>, Vec<Rejected>, u64) {
        let mut batch = WriteBatch::default();
        let mut origins = Vec::new();
        let mut rejected = Vec::new();
        let mut stale = 0;
        for series in self.series {
            let identity = SeriesIdentity::of(
                series
                    .labels
                    .iter()
                    .flat_map(|(name, value)| [name.as_bytes(), value.as_bytes()]),
            );
            let mut times = Vec::with_capacity(series.samples.len());
            let mut values = Vec::with_capacity(series.samples.len());
            for (ms, value) in &series.samples {
                if value.to_bits() == STALE_NAN_BITS {
                    stale += 1;
                    continue;
                }
                // Translation refused times past the nanosecond range, so this cannot overflow.
                times.push(ms.saturating_mul(1_000_000));
                values.push(*value);
            }
            let samples = series.samples.len() as u64;
            let key = match series_key_with(series.labels, limits, names) {
                Ok(key) => key,
                Err(reason) => {
                    rejected.push(Rejected {
                        origin: series.origin,
                        reason,
                        points: samples,
                    });
                    continue;
                }
            };
            if times.is_empty() {
                continue;
            }
            origins.push(series.origin);
            let mut rows = SeriesRows::new(key, identity, origins.len() as u32);
            rows.times = times;
            rows.columns
                .push(FieldColumn::dense(VALUE_FIELD, ColumnData::F64(values)));
            batch.series.push(rows);
        }
        (batch, origins, rejected, stale)
    }
}

/// Sets `name` to `value` in labels sorted by name: replaces an existing value, inserts otherwise.
pub(crate) fn set_label<'a>(labels: &mut Vec<(&'a str, &'a str)>, name: &'a str, value: &'a str) {
    match labels.binary_search_by(|(existing, _)| existing.cmp(&name)) {
        Ok(index) => labels[index].1 = value,
        Err(index) => labels.insert(index, (name, value)),
    }
}
