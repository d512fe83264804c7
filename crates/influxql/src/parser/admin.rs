//! Administrative statements: CREATE, DROP, ALTER, GRANT, REVOKE, SET PASSWORD, KILL.
//! The server runs few of them, but parsing them lets it say which one it refuses.

use super::select::IntoRule;
use super::{PResult, Parser};
use crate::ast::{
    AlterRetentionPolicyStatement, CreateContinuousQueryStatement, CreateDatabaseStatement,
    CreateRetentionPolicyStatement, CreateSubscriptionStatement, Privilege, Statement,
    SubscriptionMode,
};
use crate::error::ParseError;
use crate::token::{Keyword, Tok};

const RETENTION_OPTIONS: &[&str] = &[
    "DURATION",
    "REPLICATION",
    "SHARD",
    "DEFAULT",
    "FUTURE",
    "PAST",
];

impl Parser<'_> {
    /// Parses what follows `CREATE`.
    pub(crate) fn parse_create(&mut self) -> PResult<Statement> {
        let token = self.next();
        match token.tok {
            Tok::Keyword(Keyword::Continuous) => {
                self.expect_kw(Keyword::Query)?;
                self.parse_create_continuous_query()
            }
            Tok::Keyword(Keyword::Database) => self.parse_create_database(),
            Tok::Keyword(Keyword::User) => {
                let name = self.parse_ident()?;
                self.expect_kw(Keyword::With)?;
                self.expect_kw(Keyword::Password)?;
                let password = self.parse_string()?;
                let admin = self.accept_kw(Keyword::With);
                if admin {
                    self.expect_kw(Keyword::All)?;
                    self.expect_kw(Keyword::Privileges)?;
                }
                Ok(Statement::CreateUser {
                    name,
                    password,
                    admin,
                })
            }
            Tok::Keyword(Keyword::Retention) => {
                self.expect_kw(Keyword::Policy)?;
                self.parse_create_retention_policy()
            }
            Tok::Keyword(Keyword::Subscription) => self.parse_create_subscription(),
            _ => Err(Self::unexpected(
                &token,
                &[
                    "CONTINUOUS",
                    "DATABASE",
                    "USER",
                    "RETENTION",
                    "SUBSCRIPTION",
                ],
            )),
        }
    }

    /// Parses what follows `DROP`.
    pub(crate) fn parse_drop(&mut self) -> PResult<Statement> {
        let token = self.next();
        match token.tok {
            Tok::Keyword(Keyword::Continuous) => {
                self.expect_kw(Keyword::Query)?;
                let (name, database) = self.parse_name_on_database()?;
                Ok(Statement::DropContinuousQuery { name, database })
            }
            Tok::Keyword(Keyword::Database) => Ok(Statement::DropDatabase {
                name: self.parse_ident()?,
            }),
            Tok::Keyword(Keyword::Measurement) => Ok(Statement::DropMeasurement {
                name: self.parse_ident()?,
            }),
            Tok::Keyword(Keyword::Retention) => {
                self.expect_kw(Keyword::Policy)?;
                let (name, database) = self.parse_name_on_database()?;
                Ok(Statement::DropRetentionPolicy { name, database })
            }
            Tok::Keyword(Keyword::Series) => self.parse_delete(true),
            Tok::Keyword(Keyword::Shard) => Ok(Statement::DropShard {
                id: self.parse_u64()?,
            }),
            Tok::Keyword(Keyword::Subscription) => {
                let (name, database) = self.parse_name_on_database()?;
                self.expect(&Tok::Dot)?;
                Ok(Statement::DropSubscription {
                    name,
                    database,
                    retention_policy: self.parse_ident()?,
                })
            }
            Tok::Keyword(Keyword::User) => Ok(Statement::DropUser {
                name: self.parse_ident()?,
            }),
            _ => Err(Self::unexpected(
                &token,
                &[
                    "CONTINUOUS",
                    "DATABASE",
                    "MEASUREMENT",
                    "RETENTION",
                    "SERIES",
                    "SHARD",
                    "SUBSCRIPTION",
                    "USER",
                ],
            )),
        }
    }

    /// `name ON database`.
    fn parse_name_on_database(&mut self) -> PResult<(String, String)> {
        let name = self.parse_ident()?;
        self.expect_kw(Keyword::On)?;
        Ok((name, self.parse_ident()?))
    }

    /// `FUTURE LIMIT d` / `PAST LIMIT d` when the next word is `word`.
    fn parse_write_limit(&mut self, word: &str) -> PResult<Option<i64>> {
        if !self.accept_word(word) {
            return Ok(None);
        }
        self.expect_kw(Keyword::Limit)?;
        self.parse_duration_value().map(Some)
    }

    /// `DURATION d` after SHARD, where `INF` makes no sense.
    fn parse_shard_duration(&mut self) -> PResult<i64> {
        self.expect_kw(Keyword::Duration)?;
        if self.peek().tok.is_keyword(Keyword::Inf) {
            let pos = self.next().pos;
            return Err(ParseError::invalid(
                "invalid duration INF for shard duration",
                pos,
            ));
        }
        self.parse_duration_value()
    }

    fn parse_create_database(&mut self) -> PResult<Statement> {
        let mut create = CreateDatabaseStatement {
            name: self.parse_ident()?,
            duration: None,
            replication: None,
            shard_duration: None,
            future_limit: None,
            past_limit: None,
            policy_name: None,
        };
        if !self.accept_kw(Keyword::With) {
            return Ok(Statement::CreateDatabase(create));
        }
        let next = self.peek();
        let known = [
            Keyword::Duration,
            Keyword::Name,
            Keyword::Replication,
            Keyword::Shard,
        ]
        .iter()
        .any(|kw| next.tok.is_keyword(*kw))
            || next.tok.is_word("future")
            || next.tok.is_word("past");
        if !known {
            return Err(Self::unexpected(
                next,
                &["DURATION", "NAME", "REPLICATION", "SHARD", "FUTURE", "PAST"],
            ));
        }
        if self.accept_kw(Keyword::Duration) {
            create.duration = Some(self.parse_duration_value()?);
        }
        if self.accept_kw(Keyword::Replication) {
            create.replication = Some(self.parse_replication()?);
        }
        if self.accept_kw(Keyword::Shard) {
            self.expect_kw(Keyword::Duration)?;
            create.shard_duration = Some(self.parse_duration_value()?);
        }
        create.future_limit = self.parse_write_limit("future")?;
        create.past_limit = self.parse_write_limit("past")?;
        if self.accept_kw(Keyword::Name) {
            create.policy_name = Some(self.parse_ident()?);
        }
        Ok(Statement::CreateDatabase(create))
    }

    fn parse_create_retention_policy(&mut self) -> PResult<Statement> {
        let (name, database) = self.parse_name_on_database()?;
        self.expect_kw(Keyword::Duration)?;
        let duration = self.parse_duration_value()?;
        self.expect_kw(Keyword::Replication)?;
        let replication = self.parse_replication()?;
        let shard_duration = if self.accept_kw(Keyword::Shard) {
            Some(self.parse_shard_duration()?)
        } else {
            None
        };
        Ok(Statement::CreateRetentionPolicy(
            CreateRetentionPolicyStatement {
                name,
                database,
                duration,
                replication,
                shard_duration,
                default: self.accept_kw(Keyword::Default),
                future_limit: self.parse_write_limit("future")?,
                past_limit: self.parse_write_limit("past")?,
            },
        ))
    }

    /// `ALTER RETENTION POLICY` read: `name ON db` then at least one option, each once.
    pub(crate) fn parse_alter_retention_policy(&mut self) -> PResult<Statement> {
        let token = self.next();
        let name = match token.tok {
            Tok::Keyword(Keyword::Default) => "default".to_string(),
            Tok::Ident(name) => name,
            _ => return Err(Self::unexpected(&token, &["identifier"])),
        };
        self.expect_kw(Keyword::On)?;
        let mut alter = AlterRetentionPolicyStatement {
            name,
            database: self.parse_ident()?,
            duration: None,
            replication: None,
            shard_duration: None,
            default: false,
            future_limit: None,
            past_limit: None,
        };
        let mut seen: Vec<&str> = Vec::new();
        loop {
            let token = self.peek().clone();
            let option = match &token.tok {
                Tok::Keyword(Keyword::Duration) => "DURATION",
                Tok::Keyword(Keyword::Replication) => "REPLICATION",
                Tok::Keyword(Keyword::Shard) => "SHARD",
                Tok::Keyword(Keyword::Default) => "DEFAULT",
                tok if tok.is_word("future") => "FUTURE",
                tok if tok.is_word("past") => "PAST",
                _ if seen.is_empty() => {
                    return Err(Self::unexpected(&token, RETENTION_OPTIONS));
                }
                _ => return Ok(Statement::AlterRetentionPolicy(alter)),
            };
            if seen.contains(&option) {
                return Err(ParseError::invalid(
                    format!("found duplicate {option} option"),
                    token.pos,
                ));
            }
            seen.push(option);
            match option {
                "DURATION" => {
                    self.next();
                    alter.duration = Some(self.parse_duration_value()?);
                }
                "REPLICATION" => {
                    self.next();
                    alter.replication = Some(self.parse_replication()?);
                }
                "SHARD" => {
                    self.next();
                    alter.shard_duration = Some(self.parse_shard_duration()?);
                }
                "DEFAULT" => {
                    self.next();
                    alter.default = true;
                }
                "FUTURE" => alter.future_limit = self.parse_write_limit("future")?,
                _ => alter.past_limit = self.parse_write_limit("past")?,
            }
        }
    }

    fn parse_create_continuous_query(&mut self) -> PResult<Statement> {
        let (name, database) = self.parse_name_on_database()?;
        let (mut resample_every, mut resample_for) = (None, None);
        if self.accept_kw(Keyword::Resample) {
            if self.accept_kw(Keyword::Every) {
                resample_every = Some(self.parse_resample_duration()?);
            }
            if self.accept_kw(Keyword::For) {
                resample_for = Some(self.parse_resample_duration()?);
            }
            if resample_every.is_none() && resample_for.is_none() {
                return Err(Self::unexpected(self.peek(), &["EVERY", "FOR"]));
            }
        }
        self.expect_kw(Keyword::Begin)?;
        self.expect_kw(Keyword::Select)?;
        let source = self.parse_select(IntoRule::Required)?;
        // An aggregating continuous query has nothing to run on without time buckets.
        let has_interval = matches!(source.group_by_time(), Ok(Some(_)));
        if !source.is_raw_query() && !has_interval {
            return Err(Self::unexpected(self.peek(), &["GROUP BY time(...)"]));
        }
        self.expect_kw(Keyword::End)?;
        Ok(Statement::CreateContinuousQuery(Box::new(
            CreateContinuousQueryStatement {
                name,
                database,
                resample_every,
                resample_for,
                source,
            },
        )))
    }

    fn parse_resample_duration(&mut self) -> PResult<i64> {
        if !matches!(self.peek().tok, Tok::Duration(_)) {
            return Err(Self::unexpected(self.peek(), &["duration"]));
        }
        self.parse_duration_value()
    }

    fn parse_create_subscription(&mut self) -> PResult<Statement> {
        let (name, database) = self.parse_name_on_database()?;
        self.expect(&Tok::Dot)?;
        let retention_policy = self.parse_ident()?;
        self.expect_kw(Keyword::Destinations)?;
        let token = self.next();
        let mode = match token.tok {
            Tok::Keyword(Keyword::All) => SubscriptionMode::All,
            Tok::Keyword(Keyword::Any) => SubscriptionMode::Any,
            _ => return Err(Self::unexpected(&token, &["ALL", "ANY"])),
        };
        let mut destinations = vec![self.parse_string()?];
        while self.accept(&Tok::Comma) {
            destinations.push(self.parse_string()?);
        }
        Ok(Statement::CreateSubscription(CreateSubscriptionStatement {
            name,
            database,
            retention_policy,
            mode,
            destinations,
        }))
    }

    fn parse_privilege(&mut self) -> PResult<Privilege> {
        let token = self.next();
        match token.tok {
            Tok::Keyword(Keyword::Read) => Ok(Privilege::Read),
            Tok::Keyword(Keyword::Write) => Ok(Privilege::Write),
            Tok::Keyword(Keyword::All) => {
                self.accept_kw(Keyword::Privileges);
                Ok(Privilege::All)
            }
            _ => Err(Self::unexpected(
                &token,
                &["READ", "WRITE", "ALL [PRIVILEGES]"],
            )),
        }
    }

    /// GRANT and REVOKE, their keyword read: `priv ON db TO|FROM user`, or the admin form
    /// `ALL [PRIVILEGES] TO|FROM user`.
    fn parse_grant_or_revoke(&mut self, preposition: Keyword) -> PResult<Statement> {
        let privilege = self.parse_privilege()?;
        let token = self.next();
        let database = match &token.tok {
            Tok::Keyword(Keyword::On) => {
                let database = self.parse_ident()?;
                self.expect_kw(preposition)?;
                Some(database)
            }
            tok if tok.is_keyword(preposition) && privilege == Privilege::All => None,
            tok if tok.is_keyword(preposition) => return Err(Self::unexpected(&token, &["ON"])),
            _ if privilege == Privilege::All => {
                return Err(Self::unexpected(&token, &["ON", preposition.as_str()]));
            }
            _ => return Err(Self::unexpected(&token, &["ON"])),
        };
        let user = self.parse_ident()?;
        Ok(if preposition == Keyword::To {
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
        })
    }

    /// Parses what follows `GRANT`.
    pub(crate) fn parse_grant(&mut self) -> PResult<Statement> {
        self.parse_grant_or_revoke(Keyword::To)
    }

    /// Parses what follows `REVOKE`.
    pub(crate) fn parse_revoke(&mut self) -> PResult<Statement> {
        self.parse_grant_or_revoke(Keyword::From)
    }

    /// `SET PASSWORD FOR` read: `name = 'password'`.
    pub(crate) fn parse_set_password(&mut self) -> PResult<Statement> {
        let name = self.parse_ident()?;
        self.expect(&Tok::Eq)?;
        Ok(Statement::SetPassword {
            name,
            password: self.parse_string()?,
        })
    }

    /// `KILL QUERY` read: `id [ON host]`.
    pub(crate) fn parse_kill_query(&mut self) -> PResult<Statement> {
        Ok(Statement::KillQuery {
            id: self.parse_u64()?,
            host: self.parse_on_database()?,
        })
    }
}
