//! The label set of one OTLP data point, built in Prometheus's order (`createAttributes` in
//! `prometheusremotewrite/helper.go`): the point's attributes, sorted by key and translated, with
//! keys that collide after translation joined by `;` in key order; then promoted resource
//! attributes where the point has no such label; then `job` and `instance` and the scope labels,
//! which win. An empty value means "no label", as with Prometheus's `labels.Builder`.
//!
//! Strings are borrowed from the request wherever translation leaves them unchanged, and merges
//! are linear over sorted lists, so building a point's labels costs O(k log k) in its attributes.

use std::borrow::Cow;

use super::names::{TranslationStrategy, label_name};
use super::proto::KeyValue;
use super::values::value_string;

/// A label under construction: (name, value), either borrowed from the request or built.
pub(crate) type Label<'a> = (Cow<'a, str>, Cow<'a, str>);

/// Translates attributes into labels sorted by name, joining values of colliding names.
/// Attributes whose key is in `ignore` are left out.
pub(crate) fn attribute_labels<'a>(
    strategy: TranslationStrategy,
    attributes: &'a [KeyValue],
    ignore: &[&str],
) -> Result<Vec<Label<'a>>, String> {
    let mut named: Vec<(Cow<'a, str>, &'a str, Cow<'a, str>)> =
        Vec::with_capacity(attributes.len());
    for attribute in attributes {
        if ignore.contains(&attribute.key.as_str()) {
            continue;
        }
        let name = label_name(strategy, &attribute.key)?;
        named.push((name, &attribute.key, value_string(attribute.value.as_ref())));
    }
    // By translated name, then original key: colliding keys end up adjacent, in key order
    // (a stable sort keeps repeated keys in the order sent).
    named.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    let mut labels: Vec<Label<'a>> = Vec::with_capacity(named.len());
    for (name, _, value) in named {
        match labels.last_mut() {
            Some((last_name, last_value)) if *last_name == name => {
                // `labels.Builder` semantics: an empty value is an absent label.
                if last_value.is_empty() {
                    *last_value = value;
                } else {
                    *last_value = Cow::Owned(format!("{last_value};{value}"));
                }
            }
            _ => labels.push((name, value)),
        }
    }
    Ok(labels)
}

/// Sets `name` in sorted `labels` (the last value set wins; an empty value deletes at the end).
pub(crate) fn set<'a>(labels: &mut Vec<Label<'a>>, name: Cow<'a, str>, value: Cow<'a, str>) {
    match labels.binary_search_by(|(existing, _)| existing.as_ref().cmp(name.as_ref())) {
        Ok(index) => labels[index].1 = value,
        Err(index) => labels.insert(index, (name, value)),
    }
}

/// Merges sorted `overlay` into sorted `base`. `overwrite`: the overlay wins; otherwise it only
/// fills labels that are absent or empty.
pub(crate) fn merge<'a>(
    base: Vec<Label<'a>>,
    overlay: &[Label<'a>],
    overwrite: bool,
) -> Vec<Label<'a>> {
    if overlay.is_empty() {
        return base;
    }
    let mut out = Vec::with_capacity(base.len() + overlay.len());
    let mut base = base.into_iter().peekable();
    let mut overlay = overlay.iter().peekable();
    loop {
        let order = match (base.peek(), overlay.peek()) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some((left, _)), Some((right, _))) => left.cmp(right),
        };
        match order {
            std::cmp::Ordering::Less => out.extend(base.next()),
            std::cmp::Ordering::Greater => out.extend(overlay.next().cloned()),
            std::cmp::Ordering::Equal => {
                if let (Some(kept), Some(other)) = (base.next(), overlay.next()) {
                    if overwrite || kept.1.is_empty() {
                        out.push(other.clone());
                    } else {
                        out.push(kept);
                    }
                }
            }
        }
    }
    out
}

/// Drops labels whose value is empty (absent, for Prometheus).
pub(crate) fn without_empty(mut labels: Vec<Label<'_>>) -> Vec<Label<'_>> {
    labels.retain(|(_, value)| !value.is_empty());
    labels
}
