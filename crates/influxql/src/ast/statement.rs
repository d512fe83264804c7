//! Statement nodes.

use super::{
    AlterRetentionPolicyStatement, CreateContinuousQueryStatement, CreateDatabaseStatement,
    CreateRetentionPolicyStatement, CreateSubscriptionStatement, Expr, Privilege, RegexLit,
    ShowCardinalityStatement, ShowFieldKeysStatement, ShowMeasurementsStatement,
    ShowSeriesStatement, ShowTagKeysStatement, ShowTagValuesStatement,
};

/// One InfluxQL statement.
///
/// Most statements other than SELECT and the SHOW family are parsed only so that the
/// server can name what it does not support.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `SELECT ...`
    Select(Box<SelectStatement>),
    /// `EXPLAIN [ANALYZE] [VERBOSE] SELECT ...`
    Explain(ExplainStatement),
    /// `DELETE [FROM ...] [WHERE ...]`
    Delete(DeleteStatement),
    /// `DROP SERIES [FROM ...] [WHERE ...]`
    DropSeries(DeleteStatement),
    /// `SHOW DATABASES`
    ShowDatabases,
    /// `SHOW MEASUREMENTS ...`
    ShowMeasurements(ShowMeasurementsStatement),
    /// `SHOW TAG KEYS ...`
    ShowTagKeys(ShowTagKeysStatement),
    /// `SHOW TAG VALUES ... WITH KEY ...`
    ShowTagValues(ShowTagValuesStatement),
    /// `SHOW FIELD KEYS ...`
    ShowFieldKeys(ShowFieldKeysStatement),
    /// `SHOW SERIES ...`
    ShowSeries(ShowSeriesStatement),
    /// `SHOW {MEASUREMENT|SERIES|TAG KEY|TAG VALUES|FIELD KEY} [EXACT] CARDINALITY ...`
    ShowCardinality(ShowCardinalityStatement),
    /// `SHOW RETENTION POLICIES [ON db]`
    ShowRetentionPolicies {
        /// The database named by `ON`.
        database: Option<String>,
    },
    /// `SHOW USERS`
    ShowUsers,
    /// `SHOW GRANTS FOR user`
    ShowGrants {
        /// The user.
        user: String,
    },
    /// `SHOW QUERIES`
    ShowQueries,
    /// `SHOW CONTINUOUS QUERIES`
    ShowContinuousQueries,
    /// `SHOW SHARDS`
    ShowShards,
    /// `SHOW SHARD GROUPS`
    ShowShardGroups,
    /// `SHOW SUBSCRIPTIONS`
    ShowSubscriptions,
    /// `SHOW DIAGNOSTICS [FOR 'module']`
    ShowDiagnostics {
        /// The module named by `FOR`.
        module: Option<String>,
    },
    /// `SHOW STATS [FOR 'module']`
    ShowStats {
        /// The module named by `FOR`.
        module: Option<String>,
    },
    /// `CREATE DATABASE name [WITH ...]`
    CreateDatabase(CreateDatabaseStatement),
    /// `DROP DATABASE name`
    DropDatabase {
        /// The database.
        name: String,
    },
    /// `DROP MEASUREMENT name`
    DropMeasurement {
        /// The measurement.
        name: String,
    },
    /// `CREATE RETENTION POLICY ...`
    CreateRetentionPolicy(CreateRetentionPolicyStatement),
    /// `ALTER RETENTION POLICY ...`
    AlterRetentionPolicy(AlterRetentionPolicyStatement),
    /// `DROP RETENTION POLICY name ON db`
    DropRetentionPolicy {
        /// The policy.
        name: String,
        /// The database.
        database: String,
    },
    /// `CREATE USER name WITH PASSWORD 'pw' [WITH ALL PRIVILEGES]`
    CreateUser {
        /// The user.
        name: String,
        /// The password, in clear.
        password: String,
        /// Whether `WITH ALL PRIVILEGES` made the user an admin.
        admin: bool,
    },
    /// `DROP USER name`
    DropUser {
        /// The user.
        name: String,
    },
    /// `SET PASSWORD FOR name = 'pw'`
    SetPassword {
        /// The user.
        name: String,
        /// The new password, in clear.
        password: String,
    },
    /// `GRANT priv ON db TO user`, or `GRANT ALL [PRIVILEGES] TO user` (admin) when
    /// `database` is `None`.
    Grant {
        /// What is granted.
        privilege: Privilege,
        /// The database, or `None` for the admin grant.
        database: Option<String>,
        /// The user.
        user: String,
    },
    /// `REVOKE priv ON db FROM user`, or `REVOKE ALL [PRIVILEGES] FROM user` (admin) when
    /// `database` is `None`.
    Revoke {
        /// What is revoked.
        privilege: Privilege,
        /// The database, or `None` for the admin revoke.
        database: Option<String>,
        /// The user.
        user: String,
    },
    /// `KILL QUERY id [ON host]`
    KillQuery {
        /// The query's id.
        id: u64,
        /// The host named by `ON`.
        host: Option<String>,
    },
    /// `CREATE CONTINUOUS QUERY ... BEGIN SELECT ... END`
    CreateContinuousQuery(Box<CreateContinuousQueryStatement>),
    /// `DROP CONTINUOUS QUERY name ON db`
    DropContinuousQuery {
        /// The query.
        name: String,
        /// The database.
        database: String,
    },
    /// `CREATE SUBSCRIPTION ...`
    CreateSubscription(CreateSubscriptionStatement),
    /// `DROP SUBSCRIPTION name ON db.rp`
    DropSubscription {
        /// The subscription.
        name: String,
        /// The database.
        database: String,
        /// The retention policy.
        retention_policy: String,
    },
    /// `DROP SHARD id`
    DropShard {
        /// The shard's id.
        id: u64,
    },
}

/// `SELECT fields [INTO target] FROM sources [WHERE] [GROUP BY] [fill] [ORDER BY] [LIMIT]
/// [OFFSET] [SLIMIT] [SOFFSET] [tz]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectStatement {
    /// The selected expressions.
    pub fields: Vec<Field>,
    /// The `INTO` target.
    pub target: Option<Target>,
    /// The `FROM` sources, at least one.
    pub sources: Vec<Source>,
    /// The `WHERE` condition, time conditions included.
    pub condition: Option<Expr>,
    /// The `GROUP BY` dimensions: `time(...)` calls, tag names, `*`, regexes.
    pub dimensions: Vec<Expr>,
    /// The `fill(...)` option, `None` when absent (which InfluxDB treats as `fill(null)`).
    pub fill: Option<Fill>,
    /// `ORDER BY time ASC|DESC`.
    pub order_by: Option<SortField>,
    /// `LIMIT n` (InfluxDB treats `LIMIT 0` as no limit).
    pub limit: Option<u64>,
    /// `OFFSET n`
    pub offset: Option<u64>,
    /// `SLIMIT n`
    pub slimit: Option<u64>,
    /// `SOFFSET n`
    pub soffset: Option<u64>,
    /// The zone named by `tz('...')`, unchecked: resolving it is the executor's job.
    pub timezone: Option<String>,
}

/// One SELECT field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The expression.
    pub expr: Expr,
    /// The `AS` alias.
    pub alias: Option<String>,
}

/// The `INTO` target of a SELECT.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// The database (`INTO db.rp.m`).
    pub database: Option<String>,
    /// The retention policy (`INTO rp.m`, `INTO db.rp.m`).
    pub retention_policy: Option<String>,
    /// The measurement, or `None` for `:MEASUREMENT` (each source's own name).
    pub measurement: Option<String>,
}

/// A `FROM` source.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A measurement name or regex, optionally with database and retention policy.
    Measurement(Measurement),
    /// `(SELECT ...)`
    Subquery(Box<SelectStatement>),
}

/// A measurement reference: `m`, `db.rp.m`, `db..m`, `rp./re/`, `/re/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Measurement {
    /// The database, when given (an empty quoted name counts as not given).
    pub database: Option<String>,
    /// The retention policy, when given.
    pub retention_policy: Option<String>,
    /// The name or regex.
    pub name: MeasurementName,
}

/// A measurement's name, or a regex over names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MeasurementName {
    /// An exact name.
    Name(String),
    /// Every measurement whose name matches.
    Regex(RegexLit),
}

/// The `fill(...)` option of a grouped SELECT.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fill {
    /// `fill(null)`
    Null,
    /// `fill(none)`
    None,
    /// `fill(previous)`
    Previous,
    /// `fill(linear)`
    Linear,
    /// `fill(<integer>)`
    Integer(i64),
    /// `fill(<number>)`
    Float(f64),
}

/// `ORDER BY [time] ASC|DESC`: InfluxQL sorts by time only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SortField {
    /// Whether `time` was named (`ORDER BY DESC` names nothing).
    pub time: bool,
    /// Ascending (the default) or descending.
    pub ascending: bool,
}

/// `EXPLAIN [ANALYZE] [VERBOSE] SELECT ...`
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainStatement {
    /// `ANALYZE`: run the query and report what it did.
    pub analyze: bool,
    /// `VERBOSE`
    pub verbose: bool,
    /// The query explained.
    pub statement: Box<SelectStatement>,
}

/// `DELETE` and `DROP SERIES`: at least one of the two parts is present.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteStatement {
    /// The `FROM` sources (measurements only; no database may be named).
    pub sources: Vec<Source>,
    /// The `WHERE` condition.
    pub condition: Option<Expr>,
}
