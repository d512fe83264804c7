//! Which series of a measurement a group of label matchers selects, answered from the postings
//! (`(tenant, "p", measurement, tag, value, series)`) without reading any sample.
//!
//! A matcher that rejects the empty value (`job="api"`, `code=~"5.."`) names the series to keep:
//! an equality reads one value's postings; a regex whose language is a small set of strings
//! (`GET|POST`, `(a|b)-(x|y)`) reads those values' postings; a regex with a literal prefix
//! (`api-.*`) reads the postings of the values with that prefix; any other reads every value of
//! the tag and tests it. A matcher that accepts the empty value (`job!="api"`, `x=~"a|"`) also
//! accepts series without the tag, so it names the series to drop instead (those whose value it
//! rejects). Keeps intersect, drops subtract; with no keep, the measurement's posting of every
//! series is the start. The caller still checks every selected series' labels.

use std::collections::BTreeSet;

use promql_parser::label::{MatchOp, Matcher};
use regex_syntax::hir::{Class, Hir, HirKind};
use tidemark_storage::tsdb::{Layout, SeriesId, TenantId};
use tidemark_storage::{KvDatabase, RangeRequest, ReadWindow};

use super::value::METRIC_NAME;
use crate::error::QueryResult;

/// Strings a regex may expand to before its tag's postings are scanned instead.
const MAX_EXPANSION: usize = 256;

/// The series of `measurement` (whose tag keys are `tags`) whose labels satisfy the group's
/// matchers on labels other than `__name__`.
pub(super) async fn select_group<D: KvDatabase>(
    window: &mut ReadWindow<D>,
    layout: &Layout,
    tenant: TenantId,
    measurement: &str,
    tags: &[String],
    group: &[Matcher],
) -> QueryResult<BTreeSet<SeriesId>> {
    let postings = Postings {
        layout,
        tenant,
        measurement,
    };
    let mut keep: Option<BTreeSet<SeriesId>> = None;
    let mut drop = BTreeSet::new();
    for matcher in group.iter().filter(|matcher| matcher.name != METRIC_NAME) {
        let accepts_empty = matcher.is_match("");
        if !tags.contains(&matcher.name) {
            // Every series of the measurement lacks the label: its value is empty.
            if accepts_empty {
                continue;
            }
            return Ok(BTreeSet::new());
        }
        if accepts_empty {
            drop.extend(postings.rejected_by(window, matcher).await?);
            continue;
        }
        let found = postings.accepted_by(window, matcher).await?;
        let kept = match keep {
            None => found,
            Some(previous) => previous.intersection(&found).copied().collect(),
        };
        if kept.is_empty() {
            return Ok(kept);
        }
        keep = Some(kept);
    }
    let mut selected = match keep {
        Some(kept) => kept,
        None => postings.all(window).await?,
    };
    if !drop.is_empty() {
        selected.retain(|series| !drop.contains(series));
    }
    Ok(selected)
}

struct Postings<'a> {
    layout: &'a Layout,
    tenant: TenantId,
    measurement: &'a str,
}

impl Postings<'_> {
    async fn all<D: KvDatabase>(
        &self,
        window: &mut ReadWindow<D>,
    ) -> QueryResult<BTreeSet<SeriesId>> {
        self.value(window, "", "").await
    }

    async fn value<D: KvDatabase>(
        &self,
        window: &mut ReadWindow<D>,
        tag: &str,
        value: &str,
    ) -> QueryResult<BTreeSet<SeriesId>> {
        let (begin, end) = self
            .layout
            .postings(self.tenant, self.measurement, (tag, value));
        let mut found = BTreeSet::new();
        window
            .read_append_only(&RangeRequest::new(begin, end), |(key, _)| {
                found.extend(self.layout.posting_series(&key));
            })
            .await?;
        Ok(found)
    }

    async fn values<D: KvDatabase>(
        &self,
        window: &mut ReadWindow<D>,
        tag: &str,
        values: &BTreeSet<String>,
    ) -> QueryResult<BTreeSet<SeriesId>> {
        let mut found = BTreeSet::new();
        for value in values {
            found.extend(self.value(window, tag, value).await?);
        }
        Ok(found)
    }

    /// The series whose value of `tag` starts with `prefix` (every value with `""`) and
    /// satisfies `accept`.
    async fn scan<D: KvDatabase>(
        &self,
        window: &mut ReadWindow<D>,
        tag: &str,
        prefix: &str,
        accept: impl Fn(&str) -> bool,
    ) -> QueryResult<BTreeSet<SeriesId>> {
        let (begin, end) = if prefix.is_empty() {
            self.layout.tag_postings(self.tenant, self.measurement, tag)
        } else {
            self.layout
                .tag_prefix_postings(self.tenant, self.measurement, tag, prefix)
        };
        let mut found = BTreeSet::new();
        // Consecutive postings share their value: test each value once.
        let mut last: Option<(String, bool)> = None;
        window
            .read_append_only(&RangeRequest::new(begin, end), |(key, _)| {
                let Some((value, series)) = self.layout.posting_entry(&key) else {
                    return;
                };
                let accepted = match &last {
                    Some((seen, accepted)) if *seen == value => *accepted,
                    _ => {
                        let accepted = accept(&value);
                        last = Some((value, accepted));
                        accepted
                    }
                };
                if accepted {
                    found.insert(series);
                }
            })
            .await?;
        Ok(found)
    }

    /// The series with the tag whose value `matcher` (which rejects the empty value) accepts.
    async fn accepted_by<D: KvDatabase>(
        &self,
        window: &mut ReadWindow<D>,
        matcher: &Matcher,
    ) -> QueryResult<BTreeSet<SeriesId>> {
        match &matcher.op {
            MatchOp::Equal => self.value(window, &matcher.name, &matcher.value).await,
            MatchOp::Re(regex) => self.by_regex(window, matcher, regex.as_str(), true).await,
            MatchOp::NotEqual | MatchOp::NotRe(_) => {
                self.scan(window, &matcher.name, "", |value| matcher.is_match(value))
                    .await
            }
        }
    }

    /// The series with the tag whose value `matcher` (which accepts the empty value) rejects.
    async fn rejected_by<D: KvDatabase>(
        &self,
        window: &mut ReadWindow<D>,
        matcher: &Matcher,
    ) -> QueryResult<BTreeSet<SeriesId>> {
        match &matcher.op {
            MatchOp::NotEqual => self.value(window, &matcher.name, &matcher.value).await,
            // `x!~"a|b"` rejects exactly the values `a|b` accepts.
            MatchOp::NotRe(regex) => self.by_regex(window, matcher, regex.as_str(), false).await,
            MatchOp::Equal | MatchOp::Re(_) => {
                self.scan(window, &matcher.name, "", |value| !matcher.is_match(value))
                    .await
            }
        }
    }

    /// The series whose value `matcher` accepts (`wanted` true) or rejects (false), where the
    /// values in question are those `regex` (the matcher's own, or its negation's) matches: read
    /// by value set or prefix when the regex allows, else by a scan of the tag.
    async fn by_regex<D: KvDatabase>(
        &self,
        window: &mut ReadWindow<D>,
        matcher: &Matcher,
        regex: &str,
        wanted: bool,
    ) -> QueryResult<BTreeSet<SeriesId>> {
        let tag = matcher.name.as_str();
        let keep = |value: &str| matcher.is_match(value) == wanted;
        match analyse(regex) {
            Shape::Strings(values) => {
                let values = values.into_iter().filter(|v| keep(v)).collect();
                self.values(window, tag, &values).await
            }
            Shape::Prefix(prefix) => self.scan(window, tag, &prefix, keep).await,
            Shape::Other => self.scan(window, tag, "", keep).await,
        }
    }
}

/// What a regex's language looks like to the postings.
#[derive(Debug, PartialEq)]
enum Shape {
    /// At most [`MAX_EXPANSION`] strings, a superset of the values it accepts.
    Strings(BTreeSet<String>),
    /// Every value it accepts starts with this (non-empty) prefix.
    Prefix(String),
    Other,
}

/// `pattern` is a matcher's anchored regex (`^(?:...)$`).
fn analyse(pattern: &str) -> Shape {
    let Ok(hir) = regex_syntax::parse(pattern) else {
        return Shape::Other;
    };
    if let Some(strings) = expand(&hir) {
        return Shape::Strings(strings.into_iter().collect());
    }
    let prefix = prefix(&hir);
    if prefix.is_empty() {
        Shape::Other
    } else {
        Shape::Prefix(prefix)
    }
}

/// Every string the regex matches, when they are few; anchors and word boundaries match the
/// empty string here (a superset: the caller tests each value with the real regex).
fn expand(hir: &Hir) -> Option<Vec<String>> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Some(vec![String::new()]),
        HirKind::Literal(literal) => Some(vec![String::from_utf8(literal.0.to_vec()).ok()?]),
        HirKind::Class(Class::Unicode(class)) => {
            let mut chars = Vec::new();
            for range in class.ranges() {
                let count = (range.end() as u32).checked_sub(range.start() as u32)? as usize + 1;
                if chars.len() + count > MAX_EXPANSION {
                    return None;
                }
                chars.extend((range.start()..=range.end()).map(String::from));
            }
            Some(chars)
        }
        HirKind::Class(Class::Bytes(_)) | HirKind::Repetition(_) => None,
        HirKind::Capture(capture) => expand(&capture.sub),
        HirKind::Concat(parts) => {
            let mut product = vec![String::new()];
            for part in parts {
                let tails = expand(part)?;
                if product.len() * tails.len() > MAX_EXPANSION {
                    return None;
                }
                product = product
                    .iter()
                    .flat_map(|head| tails.iter().map(move |tail| format!("{head}{tail}")))
                    .collect();
            }
            Some(product)
        }
        HirKind::Alternation(choices) => {
            let mut all = Vec::new();
            for choice in choices {
                all.extend(expand(choice)?);
                if all.len() > MAX_EXPANSION {
                    return None;
                }
            }
            Some(all)
        }
    }
}

/// The literal text every match starts with.
fn prefix(hir: &Hir) -> String {
    match hir.kind() {
        HirKind::Literal(literal) => String::from_utf8(literal.0.to_vec()).unwrap_or_default(),
        HirKind::Capture(capture) => prefix(&capture.sub),
        HirKind::Concat(parts) => {
            let mut text = String::new();
            for part in parts {
                match part.kind() {
                    HirKind::Look(_) => continue,
                    HirKind::Literal(_) | HirKind::Capture(_) | HirKind::Concat(_) => {
                        // A whole part's strings, when it has exactly one, extend the prefix.
                        match expand(part) {
                            Some(strings) if strings.len() == 1 => text.push_str(&strings[0]),
                            _ => {
                                text.push_str(&prefix(part));
                                break;
                            }
                        }
                    }
                    _ => break,
                }
            }
            text
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchored(pattern: &str) -> String {
        format!("^(?:{pattern})$")
    }

    fn strings(values: &[&str]) -> Shape {
        Shape::Strings(values.iter().map(|v| (*v).to_owned()).collect())
    }

    #[test]
    fn regexes_become_value_sets_prefixes_or_scans() {
        assert_eq!(analyse(&anchored("GET|POST")), strings(&["GET", "POST"]));
        assert_eq!(analyse(&anchored("api")), strings(&["api"]));
        assert_eq!(
            analyse(&anchored("(a|b)-(x|y)")),
            strings(&["a-x", "a-y", "b-x", "b-y"])
        );
        assert_eq!(analyse(&anchored("5[0-2]")), strings(&["50", "51", "52"]));
        assert_eq!(analyse(&anchored("a|")), strings(&["", "a"]));
        assert_eq!(analyse(&anchored("api-.*")), Shape::Prefix("api-".into()));
        assert_eq!(
            analyse(&anchored("host-1.+")),
            Shape::Prefix("host-1".into())
        );
        assert_eq!(analyse(&anchored(".*-api")), Shape::Other);
        assert_eq!(analyse(&anchored("[a-z]+")), Shape::Other);
        // Case-insensitive literals expand to their case variants, few enough here.
        assert!(matches!(analyse(&anchored("(?i)get")), Shape::Strings(s) if s.len() == 8));
    }

    #[test]
    fn expansions_are_a_superset_of_the_language() {
        let cases = ["a|b|c", "x(1|2|3)y", "(?i)ok", "[0-9]", "a(b|c)?"];
        let samples = [
            "a", "b", "c", "x1y", "x4y", "OK", "ok", "oK", "7", "ab", "ac", "ad",
        ];
        for pattern in cases {
            let regex = regex::Regex::new(&anchored(pattern)).unwrap();
            if let Shape::Strings(set) = analyse(&anchored(pattern)) {
                for value in samples {
                    if regex.is_match(value) {
                        assert!(set.contains(value), "{pattern} misses {value}");
                    }
                }
            }
        }
    }
}
