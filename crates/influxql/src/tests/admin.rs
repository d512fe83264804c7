//! Administrative statements: parsed so the server can name what it refuses.

use super::{canonical, parse_one, parses};
use crate::ast::{
    AlterRetentionPolicyStatement, CreateDatabaseStatement, CreateRetentionPolicyStatement,
    Privilege, Statement,
};

const S: i64 = 1_000_000_000;
const H: i64 = 3600 * S;
const D: i64 = 24 * H;

#[test]
fn create_database_with_options() {
    assert_eq!(
        parse_one(
            "CREATE DATABASE db WITH DURATION 7d REPLICATION 1 SHARD DURATION 1d FUTURE LIMIT 1h PAST LIMIT 2h NAME rp"
        ),
        Statement::CreateDatabase(CreateDatabaseStatement {
            name: "db".into(),
            duration: Some(7 * D),
            replication: Some(1),
            shard_duration: Some(D),
            future_limit: Some(H),
            past_limit: Some(2 * H),
            policy_name: Some("rp".into()),
        })
    );
    assert_eq!(
        canonical("CREATE DATABASE db WITH DURATION INF"),
        "CREATE DATABASE db WITH DURATION INF"
    );
    assert_eq!(
        canonical(r#"CREATE DATABASE "my db""#),
        r#"CREATE DATABASE "my db""#
    );
}

#[test]
fn retention_policies() {
    assert_eq!(
        parse_one(
            "CREATE RETENTION POLICY rp ON db DURATION 30d REPLICATION 1 SHARD DURATION 1d DEFAULT"
        ),
        Statement::CreateRetentionPolicy(CreateRetentionPolicyStatement {
            name: "rp".into(),
            database: "db".into(),
            duration: 30 * D,
            replication: 1,
            shard_duration: Some(D),
            default: true,
            future_limit: None,
            past_limit: None,
        })
    );
    assert_eq!(
        parse_one("ALTER RETENTION POLICY DEFAULT ON db REPLICATION 2 DURATION 1h"),
        Statement::AlterRetentionPolicy(AlterRetentionPolicyStatement {
            name: "default".into(),
            database: "db".into(),
            duration: Some(H),
            replication: Some(2),
            shard_duration: None,
            default: false,
            future_limit: None,
            past_limit: None,
        })
    );
    assert_eq!(
        parse_one("DROP RETENTION POLICY rp ON db"),
        Statement::DropRetentionPolicy {
            name: "rp".into(),
            database: "db".into()
        }
    );
}

#[test]
fn users_and_privileges() {
    assert_eq!(
        parse_one("CREATE USER bob WITH PASSWORD 'se\\'cret' WITH ALL PRIVILEGES"),
        Statement::CreateUser {
            name: "bob".into(),
            password: "se'cret".into(),
            admin: true
        }
    );
    assert_eq!(
        parse_one("GRANT READ ON db TO bob"),
        Statement::Grant {
            privilege: Privilege::Read,
            database: Some("db".into()),
            user: "bob".into()
        }
    );
    assert_eq!(
        parse_one("GRANT ALL TO bob"),
        Statement::Grant {
            privilege: Privilege::All,
            database: None,
            user: "bob".into()
        }
    );
    assert_eq!(
        parse_one("REVOKE WRITE ON db FROM bob"),
        Statement::Revoke {
            privilege: Privilege::Write,
            database: Some("db".into()),
            user: "bob".into()
        }
    );
    assert_eq!(
        parse_one("REVOKE ALL PRIVILEGES FROM bob"),
        Statement::Revoke {
            privilege: Privilege::All,
            database: None,
            user: "bob".into()
        }
    );
    assert_eq!(
        parse_one("SET PASSWORD FOR bob = 'x'"),
        Statement::SetPassword {
            name: "bob".into(),
            password: "x".into()
        }
    );
}

#[test]
fn kill_and_drops() {
    assert_eq!(
        parse_one("KILL QUERY 36"),
        Statement::KillQuery { id: 36, host: None }
    );
    assert_eq!(
        parse_one("KILL QUERY 36 ON host1"),
        Statement::KillQuery {
            id: 36,
            host: Some("host1".into())
        }
    );
    assert_eq!(
        parse_one("DROP DATABASE db"),
        Statement::DropDatabase { name: "db".into() }
    );
    assert_eq!(
        parse_one(r#"DROP MEASUREMENT "cpu""#),
        Statement::DropMeasurement { name: "cpu".into() }
    );
    assert_eq!(parse_one("DROP SHARD 7"), Statement::DropShard { id: 7 });
    assert_eq!(
        parse_one("DROP USER bob"),
        Statement::DropUser { name: "bob".into() }
    );
}

#[test]
fn delete_and_drop_series() {
    let Statement::Delete(delete) = parse_one("DELETE FROM cpu WHERE time < '2020-01-01'") else {
        panic!()
    };
    assert_eq!(
        (delete.sources.len(), delete.condition.is_some()),
        (1, true)
    );
    let Statement::Delete(delete) = parse_one("DELETE WHERE host = 'a'") else {
        panic!()
    };
    assert!(delete.sources.is_empty());
    let Statement::DropSeries(drop) = parse_one("DROP SERIES FROM cpu") else {
        panic!()
    };
    assert!(drop.condition.is_none());
}

#[test]
fn explain() {
    let Statement::Explain(explain) = parse_one("EXPLAIN ANALYZE SELECT mean(v) FROM m") else {
        panic!()
    };
    assert!(explain.analyze && !explain.verbose);
    let Statement::Explain(explain) = parse_one("EXPLAIN VERBOSE SELECT v FROM m") else {
        panic!()
    };
    assert!(explain.verbose && !explain.analyze);
}

#[test]
fn continuous_queries() {
    let Statement::CreateContinuousQuery(cq) = parse_one(
        "CREATE CONTINUOUS QUERY cq ON db RESAMPLE EVERY 1m FOR 1h BEGIN SELECT mean(v) INTO m_1h FROM m GROUP BY time(1h) END",
    ) else {
        panic!()
    };
    assert_eq!(
        (cq.resample_every, cq.resample_for),
        (Some(60 * S), Some(H))
    );
    assert_eq!(
        cq.source.target.as_ref().unwrap().measurement.as_deref(),
        Some("m_1h")
    );
    assert_eq!(
        parse_one("DROP CONTINUOUS QUERY cq ON db"),
        Statement::DropContinuousQuery {
            name: "cq".into(),
            database: "db".into()
        }
    );
}

parses! {
    create_database_bare: "CREATE DATABASE telegraf",
    create_database_name_only: "CREATE DATABASE db WITH NAME rp",
    create_rp_limits: "CREATE RETENTION POLICY rp ON db DURATION INF REPLICATION 3 FUTURE LIMIT 1d PAST LIMIT 1w",
    alter_rp_every_option: "ALTER RETENTION POLICY rp ON db DURATION 1d REPLICATION 2 SHARD DURATION 1h DEFAULT FUTURE LIMIT 1h PAST LIMIT 2h",
    create_user_plain: "CREATE USER \"jane doe\" WITH PASSWORD 'pw'",
    grant_all_on_db: "GRANT ALL PRIVILEGES ON db TO bob",
    revoke_read: "REVOKE READ ON db FROM bob",
    create_subscription: "CREATE SUBSCRIPTION sub ON db.rp DESTINATIONS ANY 'udp://h1:9090', 'udp://h2:9090'",
    drop_subscription: "DROP SUBSCRIPTION sub ON db.rp",
    cq_raw_into_measurement: "CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT v INTO db.rp.:MEASUREMENT FROM /.*/ END",
    cq_resample_for_only: "CREATE CONTINUOUS QUERY cq ON db RESAMPLE FOR 2h BEGIN SELECT count(v) INTO c FROM m GROUP BY time(30m), * END",
    delete_regex: "DELETE FROM /^tmp_/ WHERE time < now() - 30d",
    drop_series_where: "DROP SERIES WHERE host = 'decommissioned'",
    explain_analyze_verbose: "EXPLAIN ANALYZE VERBOSE SELECT count(v) FROM m",
}

#[test]
fn statements_name_themselves_and_hide_passwords() {
    let create = parse_one("CREATE USER bob WITH PASSWORD 'hunter2' WITH ALL PRIVILEGES");
    assert_eq!(create.keywords(), "CREATE USER");
    assert_eq!(
        create.redacted(),
        "CREATE USER bob WITH PASSWORD [REDACTED] WITH ALL PRIVILEGES"
    );
    let set = parse_one("SET PASSWORD FOR bob = 'hunter2'");
    assert_eq!(set.redacted(), "SET PASSWORD FOR bob = [REDACTED]");
    assert_eq!(parse_one("DROP SHARD 1").redacted(), "DROP SHARD 1");
    assert_eq!(
        parse_one("SHOW SERIES EXACT CARDINALITY").keywords(),
        "SHOW SERIES EXACT CARDINALITY"
    );
    assert_eq!(
        parse_one("EXPLAIN ANALYZE SELECT v FROM m").keywords(),
        "EXPLAIN ANALYZE"
    );
    assert_eq!(
        parse_one("SHOW SHARD GROUPS").keywords(),
        "SHOW SHARD GROUPS"
    );
}
