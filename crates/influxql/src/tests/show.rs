//! The SHOW statements.

use super::{parse_one, parses};
use crate::ast::{
    CardinalityKind, MeasurementName, MeasurementsOn, NameOrWildcard, Statement, TagKeyFilter,
};

#[test]
fn show_measurements_clauses() {
    let Statement::ShowMeasurements(show) = parse_one(
        "SHOW MEASUREMENTS ON db.rp WITH MEASUREMENT = cpu WHERE host = 'a' ORDER BY time ASC LIMIT 5 OFFSET 2",
    ) else {
        panic!()
    };
    assert_eq!(
        show.on,
        Some(MeasurementsOn {
            database: NameOrWildcard::Name("db".into()),
            retention_policy: Some(NameOrWildcard::Name("rp".into())),
        })
    );
    assert_eq!(
        show.source.unwrap().name,
        MeasurementName::Name("cpu".into())
    );
    assert!(show.condition.is_some());
    assert_eq!((show.limit, show.offset), (Some(5), Some(2)));
}

#[test]
fn show_measurements_on_wildcards() {
    let Statement::ShowMeasurements(show) = parse_one("SHOW MEASUREMENTS ON *.*") else {
        panic!()
    };
    assert_eq!(
        show.on,
        Some(MeasurementsOn {
            database: NameOrWildcard::Wildcard,
            retention_policy: Some(NameOrWildcard::Wildcard),
        })
    );
}

#[test]
fn tag_key_filters() {
    let key = |q: &str| match parse_one(q) {
        Statement::ShowTagValues(show) => show.key,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        key("SHOW TAG VALUES WITH KEY = host"),
        TagKeyFilter::Eq("host".into())
    );
    assert_eq!(
        key("SHOW TAG VALUES WITH KEY != host"),
        TagKeyFilter::NotEq("host".into())
    );
    assert!(matches!(
        key("SHOW TAG VALUES WITH KEY =~ /h/"),
        TagKeyFilter::EqRegex(_)
    ));
    assert!(matches!(
        key("SHOW TAG VALUES WITH KEY !~ /h/"),
        TagKeyFilter::NotEqRegex(_)
    ));
    assert_eq!(
        key(r#"SHOW TAG VALUES WITH KEY IN (host, "region")"#),
        TagKeyFilter::In(vec!["host".into(), "region".into()])
    );
}

#[test]
fn cardinality_statements() {
    let card = |q: &str| match parse_one(q) {
        Statement::ShowCardinality(show) => show,
        other => panic!("{other:?}"),
    };
    let s = card("SHOW MEASUREMENT CARDINALITY");
    assert_eq!((s.kind, s.exact), (CardinalityKind::Measurement, false));
    let s = card(
        "SHOW MEASUREMENT EXACT CARDINALITY ON db FROM cpu WHERE host = 'a' GROUP BY host LIMIT 1 OFFSET 1",
    );
    assert_eq!(
        (s.kind, s.exact, s.database.as_deref()),
        (CardinalityKind::Measurement, true, Some("db"))
    );
    assert_eq!(
        (s.dimensions.len(), s.limit, s.offset),
        (1, Some(1), Some(1))
    );
    assert_eq!(
        card("SHOW SERIES EXACT CARDINALITY").kind,
        CardinalityKind::Series
    );
    assert_eq!(
        card("SHOW TAG KEY CARDINALITY").kind,
        CardinalityKind::TagKey
    );
    assert!(card("SHOW TAG KEY EXACT CARDINALITY").exact);
    assert_eq!(
        card("SHOW FIELD KEY CARDINALITY ON db").kind,
        CardinalityKind::FieldKey
    );
    let s = card(r#"SHOW TAG VALUES EXACT CARDINALITY FROM cpu WITH KEY = "host""#);
    assert_eq!(
        s.kind,
        CardinalityKind::TagValues(TagKeyFilter::Eq("host".into()))
    );
    assert!(s.exact);
    let s = card("SHOW TAG VALUES CARDINALITY WITH KEY IN (a, b)");
    assert!(!s.exact);
}

#[test]
fn show_misc() {
    assert_eq!(
        parse_one("SHOW RETENTION POLICIES"),
        Statement::ShowRetentionPolicies { database: None }
    );
    assert_eq!(parse_one("SHOW USERS"), Statement::ShowUsers);
    assert_eq!(parse_one("SHOW QUERIES"), Statement::ShowQueries);
    assert_eq!(
        parse_one("SHOW CONTINUOUS QUERIES"),
        Statement::ShowContinuousQueries
    );
    assert_eq!(parse_one("SHOW SHARDS"), Statement::ShowShards);
    assert_eq!(parse_one("SHOW SHARD GROUPS"), Statement::ShowShardGroups);
    assert_eq!(
        parse_one("SHOW SUBSCRIPTIONS"),
        Statement::ShowSubscriptions
    );
    assert_eq!(
        parse_one("SHOW GRANTS FOR bob"),
        Statement::ShowGrants { user: "bob".into() }
    );
    assert_eq!(
        parse_one("SHOW STATS FOR 'shard'"),
        Statement::ShowStats {
            module: Some("shard".into())
        }
    );
    assert_eq!(
        parse_one("SHOW DIAGNOSTICS FOR 'build'"),
        Statement::ShowDiagnostics {
            module: Some("build".into())
        }
    );
}

parses! {
    show_tag_keys_all_clauses: "SHOW TAG KEYS ON db FROM cpu, mem WITH KEY =~ /^h/ WHERE region = 'us' ORDER BY time DESC LIMIT 10 OFFSET 1 SLIMIT 2 SOFFSET 3",
    show_tag_keys_bare: "SHOW TAG KEYS",
    show_tag_keys_regex_source: "SHOW TAG KEYS FROM /^c/",
    show_tag_values_all_clauses: "SHOW TAG VALUES ON db FROM cpu WITH KEY = host WHERE region = 'us' ORDER BY time LIMIT 10 OFFSET 1",
    show_field_keys_bare: "SHOW FIELD KEYS",
    show_field_keys_clauses: "SHOW FIELD KEYS ON db FROM db.rp.cpu ORDER BY time DESC LIMIT 1 OFFSET 1",
    show_series_clauses: "SHOW SERIES ON db FROM cpu WHERE host = 'a' AND time > now() - 1h ORDER BY time LIMIT 2 OFFSET 3",
    show_series_bare: "SHOW SERIES",
    show_series_cardinality_on: "SHOW SERIES CARDINALITY ON db FROM cpu WHERE host = 'a' GROUP BY region LIMIT 1",
    show_measurements_regex_with: "SHOW MEASUREMENTS WITH MEASUREMENT =~ /^cpu/",
    show_measurements_where: "SHOW MEASUREMENTS WHERE host =~ /web/",
    show_measurements_on_db: "SHOW MEASUREMENTS ON telegraf",
    show_measurements_on_db_wild_rp: "SHOW MEASUREMENTS ON telegraf.*",
    show_field_key_exact_cardinality: "SHOW FIELD KEY EXACT CARDINALITY FROM cpu",
    show_tag_key_cardinality_clauses: "SHOW TAG KEY CARDINALITY ON db FROM cpu WHERE a = 'b' GROUP BY c LIMIT 1 OFFSET 2",
    show_stats_bare: "show stats",
    show_lowercase_everything: "show tag values from cpu with key = host where host =~ /a/ limit 1",
}
