//! Generators of the statements the parser can build, for the round-trip property: every
//! generated tree is one that some text parses to.

use proptest::prelude::*;

use super::expr_strategies::{condition, duration, name, non_empty_name, regex, text, value_expr};
use crate::ast::*;

fn measurement(qualified: bool) -> impl Strategy<Value = Measurement> {
    let qualifier = || {
        if qualified {
            prop::option::of(non_empty_name()).boxed()
        } else {
            Just(None).boxed()
        }
    };
    (
        qualifier(),
        qualifier(),
        prop_oneof![
            name().prop_map(MeasurementName::Name),
            regex().prop_map(MeasurementName::Regex)
        ],
    )
        .prop_map(|(database, retention_policy, name)| Measurement {
            database,
            retention_policy,
            name,
        })
}

fn dimension() -> impl Strategy<Value = Expr> {
    prop_oneof![
        name().prop_map(|name| Expr::VarRef(VarRef {
            name,
            data_type: None
        })),
        (duration(), prop::option::of(duration())).prop_map(|(d, offset)| Expr::Call(Call {
            name: "time".into(),
            args: std::iter::once(d)
                .chain(offset)
                .map(Expr::Duration)
                .collect(),
        })),
        Just(Expr::Wildcard(WildcardType::All)),
        regex().prop_map(Expr::Regex),
    ]
}

fn limit() -> impl Strategy<Value = Option<u64>> {
    prop::option::of(0..=i64::MAX as u64)
}

fn sort() -> impl Strategy<Value = Option<SortField>> {
    prop::option::of(
        (any::<bool>(), any::<bool>()).prop_map(|(time, ascending)| SortField { time, ascending }),
    )
}

fn fill() -> impl Strategy<Value = Option<Fill>> {
    prop::option::of(prop_oneof![
        Just(Fill::Null),
        Just(Fill::None),
        Just(Fill::Previous),
        Just(Fill::Linear),
        any::<i64>().prop_map(Fill::Integer),
        any::<f64>()
            .prop_filter("finite", |v| v.is_finite())
            .prop_map(Fill::Float),
    ])
}

fn target() -> impl Strategy<Value = Target> {
    (
        prop::option::of(non_empty_name()),
        prop::option::of(non_empty_name()),
        prop::option::of(name()),
    )
        .prop_map(|(database, retention_policy, measurement)| Target {
            database,
            retention_policy,
            measurement,
        })
}

fn select_statement() -> BoxedStrategy<SelectStatement> {
    let plain = select_with(
        prop::collection::vec(measurement(true).prop_map(Source::Measurement), 1..3).boxed(),
    );
    plain
        .prop_recursive(2, 4, 2, |inner| {
            let source = prop_oneof![
                measurement(true).prop_map(Source::Measurement),
                inner.prop_map(|s| Source::Subquery(Box::new(s))),
            ];
            select_with(prop::collection::vec(source, 1..3).boxed())
        })
        .boxed()
}

fn select_with(sources: BoxedStrategy<Vec<Source>>) -> BoxedStrategy<SelectStatement> {
    let fields = prop::collection::vec(
        (
            prop_oneof![value_expr(), regex().prop_map(Expr::Regex)],
            prop::option::of(name()),
        )
            .prop_map(|(expr, alias)| Field { expr, alias }),
        1..3,
    );
    (
        (
            fields,
            prop::option::of(target()),
            sources,
            prop::option::of(condition()),
        ),
        (prop::collection::vec(dimension(), 0..3), fill(), sort()),
        (limit(), limit(), limit(), limit(), prop::option::of(zone())),
    )
        .prop_map(
            |(
                (fields, target, sources, condition),
                (dimensions, fill, order_by),
                (limit, offset, slimit, soffset, timezone),
            )| {
                SelectStatement {
                    fields,
                    target,
                    sources,
                    condition,
                    dimensions,
                    fill,
                    order_by,
                    limit,
                    offset,
                    slimit,
                    soffset,
                    timezone,
                }
            },
        )
        .boxed()
}

fn tag_key_filter() -> impl Strategy<Value = TagKeyFilter> {
    prop_oneof![
        name().prop_map(TagKeyFilter::Eq),
        name().prop_map(TagKeyFilter::NotEq),
        regex().prop_map(TagKeyFilter::EqRegex),
        regex().prop_map(TagKeyFilter::NotEqRegex),
        prop::collection::vec(name(), 1..3).prop_map(TagKeyFilter::In),
    ]
}

fn sources() -> impl Strategy<Value = Vec<Source>> {
    prop::collection::vec(measurement(true).prop_map(Source::Measurement), 0..3)
}

fn show_statement() -> BoxedStrategy<Statement> {
    let on = || prop::option::of(name());
    prop_oneof![
        (
            on(),
            sources(),
            prop::option::of(tag_key_filter()),
            prop::option::of(condition()),
            sort(),
            (limit(), limit(), limit(), limit())
        )
            .prop_map(
                |(
                    database,
                    sources,
                    key,
                    condition,
                    order_by,
                    (limit, offset, slimit, soffset),
                )| {
                    Statement::ShowTagKeys(ShowTagKeysStatement {
                        database,
                        sources,
                        key,
                        condition,
                        order_by,
                        limit,
                        offset,
                        slimit,
                        soffset,
                    })
                }
            )
            .boxed(),
        (
            on(),
            sources(),
            tag_key_filter(),
            prop::option::of(condition()),
            sort(),
            limit(),
            limit()
        )
            .prop_map(
                |(database, sources, key, condition, order_by, limit, offset)| {
                    Statement::ShowTagValues(ShowTagValuesStatement {
                        database,
                        sources,
                        key,
                        condition,
                        order_by,
                        limit,
                        offset,
                    })
                }
            )
            .boxed(),
        (on(), sources(), sort(), limit(), limit())
            .prop_map(|(database, sources, order_by, limit, offset)| {
                Statement::ShowFieldKeys(ShowFieldKeysStatement {
                    database,
                    sources,
                    order_by,
                    limit,
                    offset,
                })
            })
            .boxed(),
        (
            on(),
            sources(),
            prop::option::of(condition()),
            sort(),
            limit(),
            limit()
        )
            .prop_map(|(database, sources, condition, order_by, limit, offset)| {
                Statement::ShowSeries(ShowSeriesStatement {
                    database,
                    sources,
                    condition,
                    order_by,
                    limit,
                    offset,
                })
            })
            .boxed(),
        (
            prop_oneof![
                Just(CardinalityKind::Measurement),
                Just(CardinalityKind::Series),
                Just(CardinalityKind::TagKey),
                Just(CardinalityKind::FieldKey),
                tag_key_filter().prop_map(CardinalityKind::TagValues),
            ],
            any::<bool>(),
            on(),
            sources(),
            prop::option::of(condition()),
            prop::collection::vec(dimension(), 0..2),
            limit(),
            limit(),
        )
            .prop_map(
                |(kind, exact, database, sources, condition, dimensions, limit, offset)| {
                    Statement::ShowCardinality(ShowCardinalityStatement {
                        kind,
                        exact,
                        database,
                        sources,
                        condition,
                        dimensions,
                        limit,
                        offset,
                    })
                }
            )
            .boxed(),
        (
            prop::option::of((
                prop_oneof![
                    name().prop_map(NameOrWildcard::Name),
                    Just(NameOrWildcard::Wildcard)
                ],
                prop::option::of(prop_oneof![
                    name().prop_map(NameOrWildcard::Name),
                    Just(NameOrWildcard::Wildcard)
                ]),
            )),
            prop::option::of(measurement(true)),
            prop::option::of(condition()),
            sort(),
            limit(),
            limit(),
        )
            .prop_map(|(on, source, condition, order_by, limit, offset)| {
                let on = on.map(|(database, retention_policy)| MeasurementsOn {
                    database,
                    retention_policy,
                });
                Statement::ShowMeasurements(ShowMeasurementsStatement {
                    on,
                    source,
                    condition,
                    order_by,
                    limit,
                    offset,
                })
            })
            .boxed(),
        on().prop_map(|database| Statement::ShowRetentionPolicies { database })
            .boxed(),
        prop::option::of(text())
            .prop_map(|module| Statement::ShowStats { module })
            .boxed(),
    ]
    .boxed()
}

fn admin_statement() -> BoxedStrategy<Statement> {
    let dur = || prop::option::of(0..i64::MAX);
    prop_oneof![
        (
            name(),
            dur(),
            prop::option::of(1..=i32::MAX as u32),
            dur(),
            dur(),
            dur(),
            prop::option::of(name())
        )
            .prop_map(
                |(
                    name,
                    duration,
                    replication,
                    shard_duration,
                    future_limit,
                    past_limit,
                    policy_name,
                )| {
                    Statement::CreateDatabase(CreateDatabaseStatement {
                        name,
                        duration,
                        replication,
                        shard_duration,
                        future_limit,
                        past_limit,
                        policy_name,
                    })
                }
            )
            .boxed(),
        (
            name(),
            name(),
            0..i64::MAX,
            1..=i32::MAX as u32,
            dur(),
            any::<bool>(),
            dur(),
            dur()
        )
            .prop_map(
                |(
                    name,
                    database,
                    duration,
                    replication,
                    shard_duration,
                    default,
                    future_limit,
                    past_limit,
                )| {
                    Statement::CreateRetentionPolicy(CreateRetentionPolicyStatement {
                        name,
                        database,
                        duration,
                        replication,
                        shard_duration,
                        default,
                        future_limit,
                        past_limit,
                    })
                }
            )
            .boxed(),
        (
            name(),
            name(),
            dur(),
            prop::option::of(1..=i32::MAX as u32),
            dur(),
            any::<bool>(),
            dur(),
            dur()
        )
            .prop_filter("at least one option", |t| t.2.is_some()
                || t.3.is_some()
                || t.4.is_some()
                || t.5
                || t.6.is_some()
                || t.7.is_some())
            .prop_map(
                |(
                    name,
                    database,
                    duration,
                    replication,
                    shard_duration,
                    default,
                    future_limit,
                    past_limit,
                )| {
                    Statement::AlterRetentionPolicy(AlterRetentionPolicyStatement {
                        name,
                        database,
                        duration,
                        replication,
                        shard_duration,
                        default,
                        future_limit,
                        past_limit,
                    })
                }
            )
            .boxed(),
        (
            prop::sample::select(vec![Privilege::Read, Privilege::Write, Privilege::All]),
            prop::option::of(name()),
            name(),
            any::<bool>()
        )
            .prop_map(|(privilege, database, user, grant)| {
                let database = if privilege == Privilege::All {
                    database
                } else {
                    database.or(Some("db".into()))
                };
                if grant {
                    Statement::Grant {
                        privilege,
                        database,
                        user,
                    }
                } else {
                    Statement::Revoke {
                        privilege,
                        database,
                        user,
                    }
                }
            })
            .boxed(),
        (name(), text(), any::<bool>())
            .prop_map(|(name, password, admin)| Statement::CreateUser {
                name,
                password,
                admin
            })
            .boxed(),
        (any::<u64>(), prop::option::of(name()))
            .prop_map(|(id, host)| Statement::KillQuery { id, host })
            .boxed(),
        (
            prop::collection::vec(measurement(false).prop_map(Source::Measurement), 0..2),
            prop::option::of(condition()),
            any::<bool>()
        )
            .prop_filter("FROM or WHERE", |(s, c, _)| !s.is_empty() || c.is_some())
            .prop_map(|(sources, condition, drop)| {
                let delete = DeleteStatement { sources, condition };
                if drop {
                    Statement::DropSeries(delete)
                } else {
                    Statement::Delete(delete)
                }
            })
            .boxed(),
        Just(Statement::ShowDatabases).boxed(),
        Just(Statement::ShowShardGroups).boxed(),
    ]
    .boxed()
}

pub(crate) fn statement() -> BoxedStrategy<Statement> {
    prop_oneof![
        3 => select_statement().prop_map(|s| Statement::Select(Box::new(s))),
        1 => (any::<bool>(), any::<bool>(), select_statement()).prop_map(|(analyze, verbose, s)| {
            Statement::Explain(ExplainStatement { analyze, verbose, statement: Box::new(s) })
        }).boxed(),
        2 => show_statement(),
        2 => admin_statement(),
    ]
    .boxed()
}

/// A time zone `tz()` accepts.
fn zone() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "UTC",
        "America/Chicago",
        "Asia/Kolkata",
        "Pacific/Chatham",
    ])
    .prop_map(str::to_owned)
}
