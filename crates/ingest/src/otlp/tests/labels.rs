use std::borrow::Cow;

use crate::otlp::TranslationStrategy;
use crate::otlp::labels::{Label, attribute_labels, merge, without_empty};
use crate::otlp::proto::KeyValue;

fn names(labels: &[Label<'_>]) -> Vec<(String, String)> {
    labels
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

#[test]
fn colliding_keys_join_in_key_order() {
    let attributes = vec![
        KeyValue::string("http_method", "POST"),
        KeyValue::string("http.method", "GET"),
        KeyValue::string("zone", ""),
        KeyValue::string("a.b", "1"),
    ];
    let labels = attribute_labels(TranslationStrategy::default(), &attributes, &[]).unwrap();
    assert_eq!(
        names(&labels),
        vec![
            ("a_b".into(), "1".into()),
            ("http_method".into(), "GET;POST".into()),
            ("zone".into(), "".into()),
        ]
    );
    assert_eq!(without_empty(labels).len(), 2);
}

#[test]
fn merge_respects_precedence() {
    let base = vec![
        (Cow::Borrowed("a"), Cow::Borrowed("point")),
        (Cow::Borrowed("c"), Cow::Borrowed("")),
    ];
    let overlay = vec![
        (Cow::Borrowed("a"), Cow::Borrowed("resource")),
        (Cow::Borrowed("b"), Cow::Borrowed("resource")),
        (Cow::Borrowed("c"), Cow::Borrowed("resource")),
    ];
    let filled = merge(base.clone(), &overlay, false);
    assert_eq!(
        names(&filled),
        vec![
            ("a".into(), "point".into()),
            ("b".into(), "resource".into()),
            ("c".into(), "resource".into()),
        ]
    );
    let overwritten = merge(base, &overlay, true);
    assert_eq!(overwritten[0].1, "resource");
}
