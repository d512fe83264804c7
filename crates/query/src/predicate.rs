//! What the filters of a scan say about time and tags, for pushdown.
//!
//! The scan uses this to pick buckets (time) and series (tags, through the postings). Every
//! pushed filter is still re-applied by DataFusion above the scan, so the analysis only has to be
//! *safe*: the selected rows must include every row that passes. Anything it does not
//! understand widens the selection instead of narrowing it.

use std::collections::{BTreeMap, BTreeSet};

use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator, expr::InList};
use regex::Regex;

/// The name of the timestamp column of every measurement table.
pub const TIME_COLUMN: &str = "time";

/// An inclusive time range in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeRange {
    /// First nanosecond.
    pub(crate) start: i64,
    /// Last nanosecond.
    pub(crate) end: i64,
}

impl TimeRange {
    /// Every representable time.
    pub(crate) const ALL: Self = Self {
        start: i64::MIN,
        end: i64::MAX,
    };

    /// True when no time is in the range.
    pub(crate) fn is_empty(&self) -> bool {
        self.start > self.end
    }

    fn intersect(self, other: Self) -> Self {
        Self {
            start: self.start.max(other.start),
            end: self.end.min(other.end),
        }
    }

    fn hull(self, other: Self) -> Self {
        if self.is_empty() {
            return other;
        }
        if other.is_empty() {
            return self;
        }
        Self {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// Which values of one tag a row may have.
#[derive(Debug, Clone)]
pub(crate) enum TagMatch {
    /// One of these values.
    Values(BTreeSet<String>),
    /// Values the regex matches (anywhere in the value, as DataFusion's `~`).
    Regex(Regex),
}

impl TagMatch {
    /// True when `value` is accepted.
    pub(crate) fn accepts(&self, value: &str) -> bool {
        match self {
            Self::Values(values) => values.contains(value),
            Self::Regex(regex) => regex.is_match(value),
        }
    }
}

/// The pushdown summary of a scan's filters.
#[derive(Debug, Clone)]
pub(crate) struct Pushdown {
    /// Rows outside this range fail the filters.
    pub(crate) time: TimeRange,
    /// Per tag key, conditions every passing row meets (all must hold).
    pub(crate) tags: BTreeMap<String, Vec<TagMatch>>,
}

impl Pushdown {
    /// Analyses the conjunction `filters`; `is_tag` tells tag columns from fields.
    pub(crate) fn analyse(filters: &[Expr], is_tag: impl Fn(&str) -> bool) -> Self {
        let mut pushdown = Self {
            time: TimeRange::ALL,
            tags: BTreeMap::new(),
        };
        for filter in filters {
            pushdown.time = pushdown.time.intersect(time_range(filter));
            for (tag, matcher) in tag_matches(filter, &is_tag) {
                pushdown.tags.entry(tag).or_default().push(matcher);
            }
        }
        pushdown
    }

    /// True when this kind of filter narrows the scan (so DataFusion may hand it to us).
    pub(crate) fn understands(filter: &Expr, is_tag: impl Fn(&str) -> bool) -> bool {
        time_range(filter) != TimeRange::ALL || !tag_matches(filter, &is_tag).is_empty()
    }
}

/// The column an expression reads, seeing through casts (tags are dictionaries, so comparisons
/// with strings are often planned as `CAST(tag AS Utf8) = 'x'`).
fn column_name(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Column(column) => Some(column.name.as_str()),
        Expr::Cast(cast) => column_name(&cast.expr),
        Expr::TryCast(cast) => column_name(&cast.expr),
        _ => None,
    }
}

fn literal(expr: &Expr) -> Option<&ScalarValue> {
    match expr {
        Expr::Literal(value, _) => Some(value),
        _ => None,
    }
}

fn string_literal(expr: &Expr) -> Option<String> {
    fn of(value: &ScalarValue) -> Option<String> {
        match value {
            ScalarValue::Utf8(Some(text))
            | ScalarValue::LargeUtf8(Some(text))
            | ScalarValue::Utf8View(Some(text)) => Some(text.clone()),
            ScalarValue::Dictionary(_, inner) => of(inner),
            _ => None,
        }
    }
    match expr {
        Expr::Cast(cast) => string_literal(&cast.expr),
        Expr::TryCast(cast) => string_literal(&cast.expr),
        _ => literal(expr).and_then(of),
    }
}

/// A timestamp literal in nanoseconds (saturating for units coarser than a nanosecond).
fn nanos_literal(expr: &Expr) -> Option<i64> {
    let value = match expr {
        Expr::Cast(cast) => return nanos_literal(&cast.expr),
        _ => literal(expr)?,
    };
    match value {
        ScalarValue::TimestampNanosecond(Some(v), _) => Some(*v),
        ScalarValue::TimestampMicrosecond(Some(v), _) => Some(v.saturating_mul(1_000)),
        ScalarValue::TimestampMillisecond(Some(v), _) => Some(v.saturating_mul(1_000_000)),
        ScalarValue::TimestampSecond(Some(v), _) => Some(v.saturating_mul(1_000_000_000)),
        _ => None,
    }
}

fn flip(op: Operator) -> Operator {
    match op {
        Operator::Lt => Operator::Gt,
        Operator::LtEq => Operator::GtEq,
        Operator::Gt => Operator::Lt,
        Operator::GtEq => Operator::LtEq,
        other => other,
    }
}

/// The times a filter can accept; [`TimeRange::ALL`] when it says nothing about time.
fn time_range(filter: &Expr) -> TimeRange {
    match filter {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And => time_range(left).intersect(time_range(right)),
            Operator::Or => time_range(left).hull(time_range(right)),
            _ => {
                let (op, value) = if column_name(left) == Some(TIME_COLUMN) {
                    (*op, nanos_literal(right))
                } else if column_name(right) == Some(TIME_COLUMN) {
                    (flip(*op), nanos_literal(left))
                } else {
                    return TimeRange::ALL;
                };
                let Some(value) = value else {
                    return TimeRange::ALL;
                };
                match op {
                    Operator::Eq => TimeRange {
                        start: value,
                        end: value,
                    },
                    Operator::Gt => TimeRange {
                        start: value.saturating_add(1),
                        end: i64::MAX,
                    },
                    Operator::GtEq => TimeRange {
                        start: value,
                        end: i64::MAX,
                    },
                    Operator::Lt => TimeRange {
                        start: i64::MIN,
                        end: value.saturating_sub(1),
                    },
                    Operator::LtEq => TimeRange {
                        start: i64::MIN,
                        end: value,
                    },
                    _ => TimeRange::ALL,
                }
            }
        },
        Expr::Between(Between {
            expr,
            negated: false,
            low,
            high,
        }) if column_name(expr) == Some(TIME_COLUMN) => {
            match (nanos_literal(low), nanos_literal(high)) {
                (Some(start), Some(end)) => TimeRange { start, end },
                _ => TimeRange::ALL,
            }
        }
        _ => TimeRange::ALL,
    }
}

/// The tag conditions a filter implies (empty when it implies none).
fn tag_matches(filter: &Expr, is_tag: &impl Fn(&str) -> bool) -> Vec<(String, TagMatch)> {
    match filter {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And => {
                let mut both = tag_matches(left, is_tag);
                both.extend(tag_matches(right, is_tag));
                both
            }
            Operator::Or => or_values(left, right, is_tag),
            Operator::Eq => {
                let (column, value) = match (column_name(left), column_name(right)) {
                    (Some(column), _) => (column, string_literal(right)),
                    (_, Some(column)) => (column, string_literal(left)),
                    _ => return Vec::new(),
                };
                match value {
                    Some(value) if is_tag(column) => {
                        vec![(column.to_owned(), TagMatch::Values([value].into()))]
                    }
                    _ => Vec::new(),
                }
            }
            Operator::RegexMatch => match (column_name(left), string_literal(right)) {
                (Some(column), Some(pattern)) if is_tag(column) => Regex::new(&pattern)
                    .map(|regex| vec![(column.to_owned(), TagMatch::Regex(regex))])
                    .unwrap_or_default(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        },
        Expr::InList(InList {
            expr,
            list,
            negated: false,
        }) => match column_name(expr) {
            Some(column) if is_tag(column) => {
                let values: Option<BTreeSet<String>> = list.iter().map(string_literal).collect();
                values
                    .map(|values| vec![(column.to_owned(), TagMatch::Values(values))])
                    .unwrap_or_default()
            }
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// `tag = 'a' OR tag = 'b'` (any nesting, one tag) is `tag IN ('a', 'b')`.
fn or_values(left: &Expr, right: &Expr, is_tag: &impl Fn(&str) -> bool) -> Vec<(String, TagMatch)> {
    let sides = [tag_matches(left, is_tag), tag_matches(right, is_tag)];
    let [left, right] = sides;
    match (left.as_slice(), right.as_slice()) {
        (
            [(left_tag, TagMatch::Values(left_values))],
            [(right_tag, TagMatch::Values(right_values))],
        ) if left_tag == right_tag => {
            let values = left_values.union(right_values).cloned().collect();
            vec![(left_tag.clone(), TagMatch::Values(values))]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use datafusion::logical_expr::{col, lit};

    use super::*;

    fn ts(nanos: i64) -> Expr {
        lit(ScalarValue::TimestampNanosecond(Some(nanos), None))
    }

    fn analyse(filters: &[Expr]) -> Pushdown {
        Pushdown::analyse(filters, |name| name == "host" || name == "region")
    }

    #[test]
    fn time_bounds_intersect_and_open_ends_are_exclusive() {
        let pushdown = analyse(&[col("time").gt_eq(ts(10)), col("time").lt(ts(20))]);
        assert_eq!(pushdown.time, TimeRange { start: 10, end: 19 });
        let pushdown = analyse(&[ts(10).lt(col("time"))]);
        assert_eq!(pushdown.time.start, 11);
        let between = col("time").between(ts(5), ts(7));
        assert_eq!(analyse(&[between]).time, TimeRange { start: 5, end: 7 });
    }

    #[test]
    fn or_takes_the_hull_and_unknown_sides_widen() {
        let either = col("time").lt(ts(5)).or(col("time").gt(ts(100)));
        assert_eq!(analyse(&[either]).time, TimeRange::ALL);
        let both = col("time")
            .between(ts(1), ts(2))
            .or(col("time").between(ts(8), ts(9)));
        assert_eq!(analyse(&[both]).time, TimeRange { start: 1, end: 9 });
        let with_field = col("time").lt(ts(5)).or(col("usage").gt(lit(1.0)));
        assert_eq!(analyse(&[with_field]).time, TimeRange::ALL);
    }

    #[test]
    fn tag_equality_in_lists_ors_and_regexes_select_values() {
        let pushdown = analyse(&[
            col("host").eq(lit("a")).or(col("host").eq(lit("b"))),
            col("region").in_list(vec![lit("eu"), lit("us")], false),
            col("usage").eq(lit("x")),
        ]);
        let host = &pushdown.tags["host"][0];
        assert!(host.accepts("a") && host.accepts("b") && !host.accepts("c"));
        assert!(pushdown.tags["region"][0].accepts("us"));
        assert!(!pushdown.tags.contains_key("usage"));
        let regex = analyse(&[Expr::BinaryExpr(BinaryExpr::new(
            Box::new(col("host")),
            Operator::RegexMatch,
            Box::new(lit("^web-")),
        ))]);
        assert!(regex.tags["host"][0].accepts("web-1"));
        assert!(!regex.tags["host"][0].accepts("db-1"));
    }

    #[test]
    fn negations_and_mixed_ors_push_nothing() {
        let pushdown = analyse(&[
            col("host").not_eq(lit("a")),
            col("host").in_list(vec![lit("a")], true),
            col("host").eq(lit("a")).or(col("region").eq(lit("eu"))),
        ]);
        assert!(pushdown.tags.is_empty());
    }
}
