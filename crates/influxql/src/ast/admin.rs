//! Nodes of the administrative statements.

use super::SelectStatement;

/// `CREATE DATABASE name [WITH [DURATION d] [REPLICATION n] [SHARD DURATION d]
/// [FUTURE LIMIT d] [PAST LIMIT d] [NAME rp]]`. Durations are in nanoseconds; `INF` is 0.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreateDatabaseStatement {
    /// The database.
    pub name: String,
    /// `DURATION d` of the default retention policy.
    pub duration: Option<i64>,
    /// `REPLICATION n`
    pub replication: Option<u32>,
    /// `SHARD DURATION d`
    pub shard_duration: Option<i64>,
    /// `FUTURE LIMIT d`
    pub future_limit: Option<i64>,
    /// `PAST LIMIT d`
    pub past_limit: Option<i64>,
    /// `NAME rp`
    pub policy_name: Option<String>,
}

/// `CREATE RETENTION POLICY name ON db DURATION d REPLICATION n [SHARD DURATION d]
/// [DEFAULT] [FUTURE LIMIT d] [PAST LIMIT d]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreateRetentionPolicyStatement {
    /// The policy.
    pub name: String,
    /// The database.
    pub database: String,
    /// How long data is kept, nanoseconds; 0 (`INF`) keeps it forever.
    pub duration: i64,
    /// `REPLICATION n`
    pub replication: u32,
    /// `SHARD DURATION d`
    pub shard_duration: Option<i64>,
    /// `DEFAULT`
    pub default: bool,
    /// `FUTURE LIMIT d`
    pub future_limit: Option<i64>,
    /// `PAST LIMIT d`
    pub past_limit: Option<i64>,
}

/// `ALTER RETENTION POLICY name ON db` followed by at least one option.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AlterRetentionPolicyStatement {
    /// The policy (`DEFAULT` is read as the name `default`).
    pub name: String,
    /// The database.
    pub database: String,
    /// `DURATION d`
    pub duration: Option<i64>,
    /// `REPLICATION n`
    pub replication: Option<u32>,
    /// `SHARD DURATION d`
    pub shard_duration: Option<i64>,
    /// `DEFAULT`
    pub default: bool,
    /// `FUTURE LIMIT d`
    pub future_limit: Option<i64>,
    /// `PAST LIMIT d`
    pub past_limit: Option<i64>,
}

/// `CREATE CONTINUOUS QUERY name ON db [RESAMPLE [EVERY d] [FOR d]] BEGIN SELECT ... END`
#[derive(Debug, Clone, PartialEq)]
pub struct CreateContinuousQueryStatement {
    /// The query's name.
    pub name: String,
    /// The database.
    pub database: String,
    /// `RESAMPLE EVERY d`
    pub resample_every: Option<i64>,
    /// `RESAMPLE FOR d`
    pub resample_for: Option<i64>,
    /// The SELECT (with an `INTO`).
    pub source: SelectStatement,
}

/// `CREATE SUBSCRIPTION name ON db.rp DESTINATIONS ALL|ANY 'dest', ...`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreateSubscriptionStatement {
    /// The subscription.
    pub name: String,
    /// The database.
    pub database: String,
    /// The retention policy.
    pub retention_policy: String,
    /// `ALL` (every destination) or `ANY` (one of them).
    pub mode: SubscriptionMode,
    /// The destinations.
    pub destinations: Vec<String>,
}

/// How a subscription spreads writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubscriptionMode {
    /// `ALL`
    All,
    /// `ANY`
    Any,
}

/// A privilege of GRANT and REVOKE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Privilege {
    /// `READ`
    Read,
    /// `WRITE`
    Write,
    /// `ALL [PRIVILEGES]`
    All,
}
