//! Printing statements other than SELECT.

use std::fmt::{self, Display, Formatter};

use super::{Ident, Quoted, write_list, write_opt, write_opt_list};
use crate::ast::{
    AlterRetentionPolicyStatement, CardinalityKind, CreateContinuousQueryStatement,
    CreateDatabaseStatement, CreateRetentionPolicyStatement, CreateSubscriptionStatement,
    DeleteStatement, ExplainStatement, MeasurementName, MeasurementsOn, NameOrWildcard, Privilege,
    ShowCardinalityStatement, ShowFieldKeysStatement, ShowMeasurementsStatement,
    ShowSeriesStatement, ShowTagKeysStatement, ShowTagValuesStatement, Statement, SubscriptionMode,
    TagKeyFilter,
};
use crate::duration::format_duration;

/// A duration printed for a statement option.
struct Dur(i64);

impl Display for Dur {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

/// A retention duration, where 0 means forever and reads best as `INF`.
struct Retention(i64);

impl Display for Retention {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            f.write_str("INF")
        } else {
            Dur(self.0).fmt(f)
        }
    }
}

fn write_on(f: &mut Formatter<'_>, database: Option<&String>) -> fmt::Result {
    write_opt(f, "ON", database.map(|db| Ident(db)).as_ref())
}

/// Writes the options shared by CREATE and ALTER RETENTION POLICY.
fn write_limits(f: &mut Formatter<'_>, future: Option<i64>, past: Option<i64>) -> fmt::Result {
    write_opt(f, "FUTURE LIMIT", future.map(Dur).as_ref())?;
    write_opt(f, "PAST LIMIT", past.map(Dur).as_ref())
}

impl Display for Statement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::Select(select) => select.fmt(f),
            Self::Explain(explain) => explain.fmt(f),
            Self::Delete(delete) => write_delete(f, "DELETE", delete),
            Self::DropSeries(delete) => write_delete(f, "DROP SERIES", delete),
            Self::ShowDatabases => f.write_str("SHOW DATABASES"),
            Self::ShowMeasurements(show) => show.fmt(f),
            Self::ShowTagKeys(show) => show.fmt(f),
            Self::ShowTagValues(show) => show.fmt(f),
            Self::ShowFieldKeys(show) => show.fmt(f),
            Self::ShowSeries(show) => show.fmt(f),
            Self::ShowCardinality(show) => show.fmt(f),
            Self::ShowRetentionPolicies { database } => {
                f.write_str("SHOW RETENTION POLICIES")?;
                write_on(f, database.as_ref())
            }
            Self::ShowUsers => f.write_str("SHOW USERS"),
            Self::ShowGrants { user } => write!(f, "SHOW GRANTS FOR {}", Ident(user)),
            Self::ShowQueries => f.write_str("SHOW QUERIES"),
            Self::ShowContinuousQueries => f.write_str("SHOW CONTINUOUS QUERIES"),
            Self::ShowShards => f.write_str("SHOW SHARDS"),
            Self::ShowShardGroups => f.write_str("SHOW SHARD GROUPS"),
            Self::ShowSubscriptions => f.write_str("SHOW SUBSCRIPTIONS"),
            Self::ShowDiagnostics { module } => {
                f.write_str("SHOW DIAGNOSTICS")?;
                write_opt(f, "FOR", module.as_deref().map(Quoted).as_ref())
            }
            Self::ShowStats { module } => {
                f.write_str("SHOW STATS")?;
                write_opt(f, "FOR", module.as_deref().map(Quoted).as_ref())
            }
            Self::CreateDatabase(create) => create.fmt(f),
            Self::DropDatabase { name } => write!(f, "DROP DATABASE {}", Ident(name)),
            Self::DropMeasurement { name } => write!(f, "DROP MEASUREMENT {}", Ident(name)),
            Self::CreateRetentionPolicy(create) => create.fmt(f),
            Self::AlterRetentionPolicy(alter) => alter.fmt(f),
            Self::DropRetentionPolicy { name, database } => write!(
                f,
                "DROP RETENTION POLICY {} ON {}",
                Ident(name),
                Ident(database)
            ),
            Self::CreateUser {
                name,
                password,
                admin,
            } => {
                write!(
                    f,
                    "CREATE USER {} WITH PASSWORD {}",
                    Ident(name),
                    Quoted(password)
                )?;
                if *admin {
                    f.write_str(" WITH ALL PRIVILEGES")?;
                }
                Ok(())
            }
            Self::DropUser { name } => write!(f, "DROP USER {}", Ident(name)),
            Self::SetPassword { name, password } => {
                write!(f, "SET PASSWORD FOR {} = {}", Ident(name), Quoted(password))
            }
            Self::Grant {
                privilege,
                database,
                user,
            } => write_grant(f, "GRANT", *privilege, database.as_ref(), "TO", user),
            Self::Revoke {
                privilege,
                database,
                user,
            } => write_grant(f, "REVOKE", *privilege, database.as_ref(), "FROM", user),
            Self::KillQuery { id, host } => {
                write!(f, "KILL QUERY {id}")?;
                write_on(f, host.as_ref())
            }
            Self::CreateContinuousQuery(create) => create.fmt(f),
            Self::DropContinuousQuery { name, database } => write!(
                f,
                "DROP CONTINUOUS QUERY {} ON {}",
                Ident(name),
                Ident(database)
            ),
            Self::CreateSubscription(create) => create.fmt(f),
            Self::DropSubscription {
                name,
                database,
                retention_policy,
            } => write!(
                f,
                "DROP SUBSCRIPTION {} ON {}.{}",
                Ident(name),
                Ident(database),
                Ident(retention_policy)
            ),
            Self::DropShard { id } => write!(f, "DROP SHARD {id}"),
        }
    }
}

fn write_delete(f: &mut Formatter<'_>, verb: &str, delete: &DeleteStatement) -> fmt::Result {
    f.write_str(verb)?;
    write_opt_list(f, "FROM", &delete.sources)?;
    write_opt(f, "WHERE", delete.condition.as_ref())
}

fn write_grant(
    f: &mut Formatter<'_>,
    verb: &str,
    privilege: Privilege,
    database: Option<&String>,
    preposition: &str,
    user: &str,
) -> fmt::Result {
    write!(f, "{verb} {privilege}")?;
    write_on(f, database)?;
    write!(f, " {preposition} {}", Ident(user))
}

impl Display for Privilege {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Read => "READ",
            Self::Write => "WRITE",
            Self::All => "ALL PRIVILEGES",
        })
    }
}

impl Display for ExplainStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("EXPLAIN ")?;
        if self.analyze {
            f.write_str("ANALYZE ")?;
        }
        if self.verbose {
            f.write_str("VERBOSE ")?;
        }
        self.statement.fmt(f)
    }
}

impl Display for NameOrWildcard {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(name) => Ident(name).fmt(f),
            Self::Wildcard => f.write_str("*"),
        }
    }
}

impl Display for MeasurementsOn {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.database.fmt(f)?;
        if let Some(rp) = &self.retention_policy {
            write!(f, ".{rp}")?;
        }
        Ok(())
    }
}

impl Display for ShowMeasurementsStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("SHOW MEASUREMENTS")?;
        write_opt(f, "ON", self.on.as_ref())?;
        if let Some(source) = &self.source {
            let op = match source.name {
                MeasurementName::Name(_) => "=",
                MeasurementName::Regex(_) => "=~",
            };
            write!(f, " WITH MEASUREMENT {op} {source}")?;
        }
        write_opt(f, "WHERE", self.condition.as_ref())?;
        write_opt(f, "ORDER BY", self.order_by.as_ref())?;
        write_opt(f, "LIMIT", self.limit.as_ref())?;
        write_opt(f, "OFFSET", self.offset.as_ref())
    }
}

impl Display for TagKeyFilter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::Eq(key) => write!(f, "= {}", Ident(key)),
            Self::NotEq(key) => write!(f, "!= {}", Ident(key)),
            Self::EqRegex(re) => write!(f, "=~ {re}"),
            Self::NotEqRegex(re) => write!(f, "!~ {re}"),
            Self::In(keys) => {
                f.write_str("IN (")?;
                let idents: Vec<Ident<'_>> = keys.iter().map(|k| Ident(k)).collect();
                write_list(f, &idents)?;
                f.write_str(")")
            }
        }
    }
}

impl Display for ShowTagKeysStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("SHOW TAG KEYS")?;
        write_on(f, self.database.as_ref())?;
        write_opt_list(f, "FROM", &self.sources)?;
        write_opt(f, "WITH KEY", self.key.as_ref())?;
        write_opt(f, "WHERE", self.condition.as_ref())?;
        write_opt(f, "ORDER BY", self.order_by.as_ref())?;
        write_opt(f, "LIMIT", self.limit.as_ref())?;
        write_opt(f, "OFFSET", self.offset.as_ref())?;
        write_opt(f, "SLIMIT", self.slimit.as_ref())?;
        write_opt(f, "SOFFSET", self.soffset.as_ref())
    }
}

impl Display for ShowTagValuesStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("SHOW TAG VALUES")?;
        write_on(f, self.database.as_ref())?;
        write_opt_list(f, "FROM", &self.sources)?;
        write!(f, " WITH KEY {}", self.key)?;
        write_opt(f, "WHERE", self.condition.as_ref())?;
        write_opt(f, "ORDER BY", self.order_by.as_ref())?;
        write_opt(f, "LIMIT", self.limit.as_ref())?;
        write_opt(f, "OFFSET", self.offset.as_ref())
    }
}

impl Display for ShowFieldKeysStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("SHOW FIELD KEYS")?;
        write_on(f, self.database.as_ref())?;
        write_opt_list(f, "FROM", &self.sources)?;
        write_opt(f, "ORDER BY", self.order_by.as_ref())?;
        write_opt(f, "LIMIT", self.limit.as_ref())?;
        write_opt(f, "OFFSET", self.offset.as_ref())
    }
}

impl Display for ShowSeriesStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("SHOW SERIES")?;
        write_on(f, self.database.as_ref())?;
        write_opt_list(f, "FROM", &self.sources)?;
        write_opt(f, "WHERE", self.condition.as_ref())?;
        write_opt(f, "ORDER BY", self.order_by.as_ref())?;
        write_opt(f, "LIMIT", self.limit.as_ref())?;
        write_opt(f, "OFFSET", self.offset.as_ref())
    }
}

impl Display for ShowCardinalityStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            CardinalityKind::Measurement => "SHOW MEASUREMENT",
            CardinalityKind::Series => "SHOW SERIES",
            CardinalityKind::TagKey => "SHOW TAG KEY",
            CardinalityKind::TagValues(_) => "SHOW TAG VALUES",
            CardinalityKind::FieldKey => "SHOW FIELD KEY",
        })?;
        if self.exact {
            f.write_str(" EXACT")?;
        }
        f.write_str(" CARDINALITY")?;
        write_on(f, self.database.as_ref())?;
        write_opt_list(f, "FROM", &self.sources)?;
        if let CardinalityKind::TagValues(key) = &self.kind {
            write!(f, " WITH KEY {key}")?;
        }
        write_opt(f, "WHERE", self.condition.as_ref())?;
        write_opt_list(f, "GROUP BY", &self.dimensions)?;
        write_opt(f, "LIMIT", self.limit.as_ref())?;
        write_opt(f, "OFFSET", self.offset.as_ref())
    }
}

impl Display for CreateDatabaseStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "CREATE DATABASE {}", Ident(&self.name))?;
        let any = self.duration.is_some()
            || self.replication.is_some()
            || self.shard_duration.is_some()
            || self.future_limit.is_some()
            || self.past_limit.is_some()
            || self.policy_name.is_some();
        if !any {
            return Ok(());
        }
        f.write_str(" WITH")?;
        write_opt(f, "DURATION", self.duration.map(Retention).as_ref())?;
        write_opt(f, "REPLICATION", self.replication.as_ref())?;
        write_opt(f, "SHARD DURATION", self.shard_duration.map(Dur).as_ref())?;
        write_limits(f, self.future_limit, self.past_limit)?;
        write_opt(f, "NAME", self.policy_name.as_deref().map(Ident).as_ref())
    }
}

impl Display for CreateRetentionPolicyStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CREATE RETENTION POLICY {} ON {} DURATION {} REPLICATION {}",
            Ident(&self.name),
            Ident(&self.database),
            Retention(self.duration),
            self.replication
        )?;
        write_opt(f, "SHARD DURATION", self.shard_duration.map(Dur).as_ref())?;
        if self.default {
            f.write_str(" DEFAULT")?;
        }
        write_limits(f, self.future_limit, self.past_limit)
    }
}

impl Display for AlterRetentionPolicyStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ALTER RETENTION POLICY {} ON {}",
            Ident(&self.name),
            Ident(&self.database)
        )?;
        write_opt(f, "DURATION", self.duration.map(Retention).as_ref())?;
        write_opt(f, "REPLICATION", self.replication.as_ref())?;
        write_opt(f, "SHARD DURATION", self.shard_duration.map(Dur).as_ref())?;
        if self.default {
            f.write_str(" DEFAULT")?;
        }
        write_limits(f, self.future_limit, self.past_limit)
    }
}

impl Display for CreateContinuousQueryStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CREATE CONTINUOUS QUERY {} ON {}",
            Ident(&self.name),
            Ident(&self.database)
        )?;
        if self.resample_every.is_some() || self.resample_for.is_some() {
            f.write_str(" RESAMPLE")?;
            write_opt(f, "EVERY", self.resample_every.map(Dur).as_ref())?;
            write_opt(f, "FOR", self.resample_for.map(Dur).as_ref())?;
        }
        write!(f, " BEGIN {} END", self.source)
    }
}

impl Display for CreateSubscriptionStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CREATE SUBSCRIPTION {} ON {}.{} DESTINATIONS {} ",
            Ident(&self.name),
            Ident(&self.database),
            Ident(&self.retention_policy),
            match self.mode {
                SubscriptionMode::All => "ALL",
                SubscriptionMode::Any => "ANY",
            }
        )?;
        let quoted: Vec<Quoted<'_>> = self.destinations.iter().map(|d| Quoted(d)).collect();
        write_list(f, &quoted)
    }
}
