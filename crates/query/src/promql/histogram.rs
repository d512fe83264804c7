//! `histogram_quantile` over classic histograms (one series per `le` bucket).

use std::collections::HashMap;

use super::grid::{VSeries, merge_same_labels};
use super::num::{almost_equal, parse_float};
use super::value::{Labels, METRIC_NAME, PromError};

const BUCKET_LABEL: &str = "le";

/// Bucket counts that differ by less than this relative amount are float noise.
const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

pub(crate) fn histogram_quantile(
    q: &[f64],
    input: Vec<VSeries>,
    len: usize,
) -> Result<Vec<VSeries>, PromError> {
    // Series are grouped by all labels but `le`; the output also drops the name.
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut groups: Vec<(Labels, Vec<(f64, usize)>)> = Vec::new();
    for (i, s) in input.iter().enumerate() {
        let Some(upper) = s
            .labels
            .iter()
            .find(|(n, _)| n == BUCKET_LABEL)
            .and_then(|(_, v)| parse_float(v))
        else {
            continue;
        };
        let key: Labels = s
            .labels
            .iter()
            .filter(|(n, _)| n != BUCKET_LABEL)
            .cloned()
            .collect();
        let g = match index.get(&key) {
            Some(&g) => g,
            None => {
                let out: Labels = key
                    .iter()
                    .filter(|(n, _)| n != METRIC_NAME)
                    .cloned()
                    .collect();
                index.insert(key, groups.len());
                groups.push((out, Vec::new()));
                groups.len() - 1
            }
        };
        groups[g].1.push((upper, i));
    }

    let mut by_step: Vec<Vec<(f64, f64)>> = vec![Vec::new(); len];
    let mut touched: Vec<u32> = Vec::new();
    let mut out = Vec::with_capacity(groups.len());
    for (labels, members) in groups {
        touched.clear();
        for (upper, m) in members {
            for &(i, count) in &input[m].points {
                let slot = &mut by_step[i as usize];
                if slot.is_empty() {
                    touched.push(i);
                }
                slot.push((upper, count));
            }
        }
        touched.sort_unstable();
        let points = touched
            .iter()
            .map(|&i| {
                let buckets = &mut by_step[i as usize];
                let v = bucket_quantile(q[i as usize], buckets);
                buckets.clear();
                (i, v)
            })
            .collect();
        out.push(VSeries { labels, points });
    }
    merge_same_labels(out)
}

/// The φ-quantile of `(upper bound, cumulative count)` buckets, interpolating linearly
/// inside the bucket the rank falls in.
pub(crate) fn bucket_quantile(q: f64, buckets: &mut Vec<(f64, f64)>) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    match buckets.last() {
        Some(&(upper, _)) if upper == f64::INFINITY => {}
        _ => return f64::NAN,
    }
    // Buckets with the same bound (e.g. `le="1"` and `le="1.0"`) add up.
    buckets.dedup_by(|later, earlier| {
        if later.0 == earlier.0 {
            earlier.1 += later.1;
            true
        } else {
            false
        }
    });
    ensure_monotonic(buckets);
    if buckets.len() < 2 {
        return f64::NAN;
    }
    let observations = buckets[buckets.len() - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let b = buckets[..buckets.len() - 1].partition_point(|bucket| bucket.1 < rank);
    if b == buckets.len() - 1 {
        return buckets[buckets.len() - 2].0;
    }
    if b == 0 && buckets[0].0 <= 0.0 {
        return buckets[0].0;
    }
    let mut start = 0.0;
    let end = buckets[b].0;
    let mut count = buckets[b].1;
    if b > 0 {
        start = buckets[b - 1].0;
        count -= buckets[b - 1].1;
        rank -= buckets[b - 1].1;
    }
    start + (end - start) * (rank / count)
}

/// Cumulative counts must not decrease; decreases (scrapes of buckets taken at slightly
/// different times) are flattened, and negligible float differences ignored.
fn ensure_monotonic(buckets: &mut [(f64, f64)]) {
    let Some(&(_, mut prev)) = buckets.first() else {
        return;
    };
    for b in buckets.iter_mut().skip(1) {
        let curr = b.1;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, SMALL_DELTA_TOLERANCE) || curr < prev {
            b.1 = prev;
            continue;
        }
        prev = curr;
    }
}
