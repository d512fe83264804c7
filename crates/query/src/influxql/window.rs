//! The windows of an aggregate (GROUP BY time's buckets, or one window for everything), `fill`
//! over the windows' values, and joining per-column results into rows.

use std::collections::BTreeMap;

use chrono::{Offset, TimeZone};
use chrono_tz::Tz;
use tidemark_influxql::TimeRange;
use tidemark_influxql::ast::{Fill, GroupByTime, GroupByTimeOffset};

use super::fetch::Point;
use super::value::{Row, Value};
use crate::{QueryError, QueryResult};

/// Most windows one statement may produce per series.
const MAX_WINDOWS: i64 = 1_000_000;

/// Applies `fill` to every column; returns which windows to keep (all but, under
/// `fill(none)`, windows where every column lacks data).
pub(crate) fn fill_columns(
    columns: &mut [Vec<Option<Value>>],
    times: &[i64],
    fill: Fill,
    counts: &[bool],
) -> Vec<bool> {
    let windows = times.len();
    let keep: Vec<bool> = (0..windows)
        .map(|index| fill != Fill::None || columns.iter().any(|column| column[index].is_some()))
        .collect();
    for (column, is_count) in columns.iter_mut().zip(counts) {
        match fill {
            Fill::None => {}
            Fill::Null => {
                for value in column.iter_mut().filter(|v| v.is_none()) {
                    *value = Some(if *is_count {
                        Value::Integer(0)
                    } else {
                        Value::Null
                    });
                }
            }
            Fill::Integer(_) | Fill::Float(_) => {
                // The fill value takes the column's type: integers truncate, as InfluxDB's do.
                let number = match fill {
                    Fill::Integer(n) => n as f64,
                    Fill::Float(n) => n,
                    _ => unreachable!("a numeric fill"),
                };
                let integer = *is_count
                    || column
                        .iter()
                        .flatten()
                        .any(|v| matches!(v, Value::Integer(_)));
                let value = if integer {
                    Value::Integer(number as i64)
                } else {
                    Value::Float(number)
                };
                column
                    .iter_mut()
                    .filter(|v| v.is_none())
                    .for_each(|v| *v = Some(value.clone()));
            }
            Fill::Previous => {
                let mut previous = Value::Null;
                for value in column.iter_mut() {
                    match value {
                        Some(found) => previous = found.clone(),
                        None => *value = Some(previous.clone()),
                    }
                }
            }
            Fill::Linear => {
                let known: Vec<usize> = (0..windows).filter(|i| column[*i].is_some()).collect();
                for pair in known.windows(2) {
                    let (a, b) = (pair[0], pair[1]);
                    let (Some(va), Some(vb)) = (
                        column[a].as_ref().and_then(Value::as_f64),
                        column[b].as_ref().and_then(Value::as_f64),
                    ) else {
                        continue;
                    };
                    let integer = matches!(column[a], Some(Value::Integer(_)));
                    for index in a + 1..b {
                        let value = va
                            + (vb - va) * (times[index] - times[a]) as f64
                                / (times[b] - times[a]) as f64;
                        column[index] = Some(if integer {
                            Value::Integer(value as i64)
                        } else {
                            Value::Float(value)
                        });
                    }
                }
                for value in column.iter_mut().filter(|v| v.is_none()) {
                    *value = Some(Value::Null);
                }
            }
        }
    }
    keep
}

/// Joins per-column series on time into rows; `drop_empty` leaves out rows with no value.
pub(crate) fn merge_columns(columns: Vec<Vec<(i64, Value)>>, drop_empty: bool) -> Vec<Row> {
    let mut rows: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
    let width = columns.len();
    for (index, column) in columns.into_iter().enumerate() {
        for (time, value) in column {
            rows.entry(time).or_insert_with(|| vec![Value::Null; width])[index] = value;
        }
    }
    rows.into_iter()
        .filter(|(_, values)| !drop_empty || values.iter().any(|v| !v.is_null()))
        .map(|(time, values)| Row { time, values })
        .collect()
}

/// The windows of an aggregate: GROUP BY time's buckets, or one window for everything.
pub(crate) struct Windows {
    interval: i64,
    offset: i64,
    zone: Option<Tz>,
    pub(crate) first: i64,
    /// Every window's start, ascending (one entry without GROUP BY time).
    starts: Vec<i64>,
    single: bool,
}

/// The offset of `zone` from UTC at `nanos`, in nanoseconds.
pub(crate) fn zone_offset(zone: Option<Tz>, nanos: i64) -> i64 {
    let Some(zone) = zone else {
        return 0;
    };
    let utc = chrono::DateTime::from_timestamp_nanos(nanos).naive_utc();
    i64::from(zone.offset_from_utc_datetime(&utc).fix().local_minus_utc()) * 1_000_000_000
}

impl Windows {
    pub(crate) fn new(
        by_time: Option<GroupByTime>,
        range: TimeRange,
        now: i64,
        points: &[Point],
        zone: Option<Tz>,
    ) -> QueryResult<Self> {
        let Some(by_time) = by_time else {
            let start = range.min.unwrap_or(0);
            return Ok(Self {
                interval: 1,
                offset: 0,
                zone,
                first: start,
                starts: vec![start],
                single: true,
            });
        };
        let offset = match by_time.offset {
            GroupByTimeOffset::Duration(offset) => offset,
            GroupByTimeOffset::Now => now.rem_euclid(by_time.interval),
        };
        let mut windows = Self {
            interval: by_time.interval,
            offset,
            zone,
            first: 0,
            starts: Vec::new(),
            single: false,
        };
        let min = range
            .min
            .or_else(|| points.iter().map(|p| p.time).min())
            .unwrap_or(now);
        let max = range.max.unwrap_or(now).max(min);
        let (first, last) = (windows.window_of(min).0, windows.window_of(max).0);
        if (last - first) / by_time.interval >= MAX_WINDOWS {
            return Err(QueryError::ResourcesExhausted(format!(
                "GROUP BY time gives more than {MAX_WINDOWS} windows; use a larger interval or a shorter range"
            )));
        }
        windows.first = first;
        let mut start = first;
        while start <= last {
            windows.starts.push(start);
            let (_, end) = windows.window_of(start);
            let next = windows.window_of(end).0;
            start = if next > start { next } else { end };
        }
        Ok(windows)
    }

    /// The [start, end) of the window holding `time`. With a time zone the windows follow
    /// its offset, as InfluxDB's `Window` does (a change of offset smaller than the interval
    /// moves the window's start by that much).
    pub(crate) fn window_of(&self, time: i64) -> (i64, i64) {
        let t = time - self.offset;
        let zone = zone_offset(self.zone, t);
        let mut start = t - (t + zone).rem_euclid(self.interval);
        if self.zone.is_some() {
            let change = zone - zone_offset(self.zone, start);
            if change != 0 && change.abs() < self.interval {
                start += change;
            }
        }
        start += self.offset;
        (start, start + self.interval)
    }

    /// Every window's start and its points (time order kept).
    pub(crate) fn bucket<'a>(&self, points: &'a [Point]) -> Vec<(i64, Vec<&'a Point>)> {
        if self.single {
            return vec![(self.first, points.iter().collect())];
        }
        let mut buckets: Vec<(i64, Vec<&Point>)> = self
            .starts
            .iter()
            .map(|start| (*start, Vec::new()))
            .collect();
        for point in points {
            let start = self.window_of(point.time).0;
            if let Ok(index) = self.starts.binary_search(&start) {
                buckets[index].1.push(point);
            }
        }
        buckets
    }
}
