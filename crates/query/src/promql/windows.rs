//! Sliding-window machinery for the range-vector functions: a series' windows
//! `(end - range, end]` at non-decreasing `end`s as index ranges, prefix counts of marked
//! adjacent-sample pairs (counter resets, value changes) and a monotonic deque for sliding
//! minima and maxima.
//!
//! Every structure answers exactly what a pass over the window's samples would (counts are
//! integers, extremes are one of the window's own values, chosen by the same tie rule), so
//! functions built on them return the same bits as the per-window computation.

use std::collections::VecDeque;
use std::ops::Range;

/// Moves over one series' windows `(end - range, end]` for non-decreasing `end`s, exactly as
/// [`super::selector::WindowCursor`] does, but yields the window's index range so per-series
/// precomputed structures can be consulted.
#[derive(Debug)]
pub(super) struct SpanCursor<'s> {
    samples: &'s [(i64, f64)],
    lo: usize,
    hi: usize,
}

impl<'s> SpanCursor<'s> {
    pub(super) fn new(samples: &'s [(i64, f64)]) -> Self {
        Self {
            samples,
            lo: 0,
            hi: 0,
        }
    }

    /// The indices of the samples in `(end - range, end]`; `end` must not decrease between
    /// calls. Amortised O(1).
    pub(super) fn advance(&mut self, end: i64, range: i64) -> Range<usize> {
        let from = end.saturating_sub(range);
        let n = self.samples.len();
        while self.hi < n && self.samples[self.hi].0 <= end {
            self.hi += 1;
        }
        while self.lo < n && self.samples[self.lo].0 <= from {
            self.lo += 1;
        }
        self.lo.min(self.hi)..self.hi
    }
}

/// The adjacent-sample pairs `(j - 1, j)` of a series that a predicate marks (a counter
/// reset, a value change), as prefix counts and as the ascending list of marked `j`s. A
/// window `lo..hi` holds the pairs with `lo < j < hi`.
#[derive(Debug)]
pub(super) struct MarkedPairs {
    /// `prefix[j]`: the number of marked pairs ending at or before `j` (`prefix[0] == 0`).
    prefix: Vec<usize>,
    /// The marked `j`s, ascending.
    marks: Vec<usize>,
}

impl MarkedPairs {
    /// Marks every pair for which `mark(previous value, value)` holds.
    pub(super) fn new(samples: &[(i64, f64)], mark: impl Fn(f64, f64) -> bool) -> Self {
        let mut prefix = Vec::with_capacity(samples.len());
        let mut marks = Vec::new();
        if !samples.is_empty() {
            prefix.push(0);
        }
        for (j, p) in samples.windows(2).enumerate() {
            if mark(p[0].1, p[1].1) {
                marks.push(j + 1);
            }
            prefix.push(marks.len());
        }
        Self { prefix, marks }
    }

    /// Where the window's marks lie in `self.marks`.
    fn bounds(&self, w: &Range<usize>) -> Range<usize> {
        if w.end <= w.start + 1 {
            return 0..0;
        }
        self.prefix[w.start]..self.prefix[w.end - 1]
    }

    /// How many marked pairs lie inside window `w`. O(1).
    pub(super) fn count(&self, w: &Range<usize>) -> usize {
        self.bounds(w).len()
    }

    /// The marked `j`s inside window `w`, ascending. O(1).
    pub(super) fn marks(&self, w: &Range<usize>) -> &[usize] {
        &self.marks[self.bounds(w)]
    }
}

/// Which extreme a [`SlidingExtreme`] tracks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Extreme {
    Min,
    Max,
}

/// The minimum or maximum of a sliding window's non-NaN values, by a monotonic deque of
/// sample indices (amortised O(1) per slide).
///
/// Among values that compare equal (`-0.0 == 0.0`) the earliest in the window is the
/// extreme, as a left-to-right fold that replaces its accumulator only on a strictly better
/// value picks it. NaN values are never candidates.
#[derive(Debug)]
pub(super) struct SlidingExtreme {
    extreme: Extreme,
    /// Candidate `(index, value)`s, ascending index; values non-decreasing (`Min`) or
    /// non-increasing (`Max`) from the front, so the front is the window's extreme.
    deque: VecDeque<(usize, f64)>,
    /// The first index not yet offered to the deque.
    next: usize,
}

impl SlidingExtreme {
    pub(super) fn new(extreme: Extreme) -> Self {
        Self {
            extreme,
            deque: VecDeque::new(),
            next: 0,
        }
    }

    /// Slides to window `w` of `samples` (both ends non-decreasing between calls) and
    /// returns the index of the window's earliest extreme non-NaN value, or `None` when the
    /// window holds only NaN (or nothing).
    pub(super) fn slide(&mut self, samples: &[(i64, f64)], w: &Range<usize>) -> Option<usize> {
        for (i, &(_, v)) in samples
            .iter()
            .enumerate()
            .take(w.end)
            .skip(self.next.max(w.start))
        {
            if v.is_nan() {
                continue;
            }
            while let Some(&(_, back)) = self.deque.back() {
                let beaten = match self.extreme {
                    Extreme::Min => back > v,
                    Extreme::Max => back < v,
                };
                if !beaten {
                    break;
                }
                self.deque.pop_back();
            }
            self.deque.push_back((i, v));
        }
        self.next = self.next.max(w.end);
        while self.deque.front().is_some_and(|&(i, _)| i < w.start) {
            self.deque.pop_front();
        }
        self.deque.front().map(|&(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::promql::selector::{WindowCursor, window};

    fn samples(values: &[f64]) -> Vec<(i64, f64)> {
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| (i as i64 * 10, v))
            .collect()
    }

    #[test]
    fn span_cursor_is_left_open() {
        let s = samples(&[1.0, 2.0, 3.0, 4.0]); // at 0, 10, 20, 30
        let mut c = SpanCursor::new(&s);
        assert_eq!(c.advance(-5, 10), 0..0);
        assert_eq!(c.advance(0, 10), 0..1);
        assert_eq!(c.advance(10, 10), 1..2);
        assert_eq!(c.advance(25, 20), 1..3);
        assert_eq!(c.advance(25, 20), 1..3);
        assert_eq!(c.advance(100, 10), 4..4);
    }

    #[test]
    fn marked_pairs_count_pairs_inside_the_window() {
        // Resets at j = 2 (5 -> 1) and j = 4 (3 -> 0).
        let s = samples(&[4.0, 5.0, 1.0, 3.0, 0.0, 2.0]);
        let r = MarkedPairs::new(&s, |prev, v| v < prev);
        assert_eq!(r.marks(&(0..6)), &[2, 4]);
        assert_eq!(r.count(&(0..6)), 2);
        // The pair (1, 2) straddles the window's start: not inside.
        assert_eq!(r.count(&(2..6)), 1);
        assert_eq!(r.marks(&(2..6)), &[4]);
        assert_eq!(r.count(&(1..3)), 1);
        assert_eq!(r.count(&(3..4)), 0);
        assert_eq!(r.count(&(5..5)), 0);
        assert!(MarkedPairs::new(&[], |_, _| true).marks(&(0..0)).is_empty());
    }

    #[test]
    fn sliding_extreme_keeps_the_earliest_of_equal_values_and_skips_nan() {
        let s = samples(&[0.0, f64::NAN, -0.0, 3.0, f64::NAN, 3.0]);
        let mut min = SlidingExtreme::new(Extreme::Min);
        assert_eq!(min.slide(&s, &(0..3)), Some(0)); // +0 before -0
        assert_eq!(min.slide(&s, &(1..3)), Some(2));
        assert_eq!(min.slide(&s, &(3..4)), Some(3));
        assert_eq!(min.slide(&s, &(4..5)), None);
        assert_eq!(min.slide(&s, &(4..6)), Some(5));
        let mut max = SlidingExtreme::new(Extreme::Max);
        assert_eq!(max.slide(&s, &(0..4)), Some(3));
        assert_eq!(max.slide(&s, &(4..6)), Some(5));
        assert_eq!(max.slide(&s, &(6..6)), None);
    }

    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            4 => (-3i32..4).prop_map(f64::from),
            1 => Just(f64::NAN),
            1 => Just(-0.0),
            1 => Just(f64::INFINITY),
            1 => Just(f64::NEG_INFINITY),
            1 => -1e3f64..1e3,
        ]
    }

    /// Sorted samples with distinct, irregularly spaced times.
    fn series() -> impl Strategy<Value = Vec<(i64, f64)>> {
        prop::collection::vec((1i64..40, value()), 0..60).prop_map(|v| {
            let mut t = -200;
            v.into_iter()
                .map(|(dt, x)| {
                    t += dt;
                    (t, x)
                })
                .collect()
        })
    }

    /// Window ends (non-decreasing, possibly repeated) and the range.
    fn steps() -> impl Strategy<Value = (Vec<i64>, i64)> {
        (
            -250i64..1500,
            prop::collection::vec(0i64..60, 1..40),
            1i64..300,
        )
            .prop_map(|(start, deltas, range)| {
                let mut end = start;
                let ends = deltas
                    .into_iter()
                    .map(|d| {
                        end += d;
                        end
                    })
                    .collect();
                (ends, range)
            })
    }

    /// A left-to-right fold that takes a strictly better value (or any value over NaN).
    fn fold_extreme(s: &[(i64, f64)], extreme: Extreme) -> f64 {
        s.iter().fold(s[0].1, |m, &(_, v)| {
            let better = match extreme {
                Extreme::Min => m > v,
                Extreme::Max => m < v,
            };
            if better || m.is_nan() { v } else { m }
        })
    }

    proptest! {
        #[test]
        fn span_cursor_matches_window_cursor_and_window(s in series(), (ends, range) in steps()) {
            let mut spans = SpanCursor::new(&s);
            let mut cursor = WindowCursor::new(&s);
            // Times are distinct, so equal times mean the same samples (NaN != NaN).
            let times = |w: &[(i64, f64)]| w.iter().map(|p| p.0).collect::<Vec<_>>();
            for end in ends {
                let span = spans.advance(end, range);
                prop_assert_eq!(times(&s[span.clone()]), times(cursor.advance(end, range)));
                prop_assert_eq!(times(&s[span]), times(window(&s, end - range, end)));
            }
        }

        #[test]
        fn marked_pairs_match_a_scan(s in series(), (ends, range) in steps()) {
            let mark = |prev: f64, v: f64| v < prev;
            let pairs = MarkedPairs::new(&s, mark);
            let mut spans = SpanCursor::new(&s);
            for end in ends {
                let span = spans.advance(end, range);
                let scan: Vec<usize> = (span.start + 1..span.end)
                    .filter(|&j| mark(s[j - 1].1, s[j].1))
                    .collect();
                prop_assert_eq!(pairs.count(&span), scan.len());
                prop_assert_eq!(pairs.marks(&span), &scan[..]);
            }
        }

        #[test]
        fn sliding_extreme_matches_a_fold(s in series(), (ends, range) in steps()) {
            for extreme in [Extreme::Min, Extreme::Max] {
                let mut deque = SlidingExtreme::new(extreme);
                let mut spans = SpanCursor::new(&s);
                for &end in &ends {
                    let span = spans.advance(end, range);
                    let got = deque.slide(&s, &span);
                    if span.is_empty() {
                        prop_assert_eq!(got, None);
                        continue;
                    }
                    let w = &s[span.clone()];
                    let want = fold_extreme(w, extreme);
                    // The fold ends on NaN only when every value is NaN.
                    let got = got.map_or(w[w.len() - 1].1, |i| s[i].1);
                    prop_assert_eq!(got.to_bits(), want.to_bits());
                }
            }
        }
    }
}
