//! The SHOW statements.

use super::{PResult, Parser};
use crate::ast::{
    CardinalityKind, MeasurementsOn, NameOrWildcard, ShowCardinalityStatement,
    ShowFieldKeysStatement, ShowMeasurementsStatement, ShowSeriesStatement, ShowTagKeysStatement,
    ShowTagValuesStatement, Source, Statement, TagKeyFilter,
};
use crate::token::{Keyword, Tok, Token};

/// What may follow SHOW, in the order InfluxDB lists them.
const SHOW_KEYWORDS: &[&str] = &[
    "CONTINUOUS",
    "DATABASES",
    "DIAGNOSTICS",
    "FIELD",
    "GRANTS",
    "MEASUREMENT",
    "MEASUREMENTS",
    "QUERIES",
    "RETENTION",
    "SERIES",
    "SHARD",
    "SHARDS",
    "STATS",
    "SUBSCRIPTIONS",
    "TAG",
    "USERS",
];

impl Parser<'_> {
    /// Parses what follows `SHOW`.
    pub(crate) fn parse_show(&mut self) -> PResult<Statement> {
        let token = self.next();
        let Tok::Keyword(kw) = token.tok else {
            return Err(Self::unexpected(&token, SHOW_KEYWORDS));
        };
        Ok(match kw {
            Keyword::Continuous => {
                self.expect_kw(Keyword::Queries)?;
                Statement::ShowContinuousQueries
            }
            Keyword::Databases => Statement::ShowDatabases,
            Keyword::Diagnostics => Statement::ShowDiagnostics {
                module: self.parse_module()?,
            },
            Keyword::Field => {
                let next = self.next();
                match next.tok {
                    Tok::Keyword(Keyword::Key) => {
                        let exact = self.parse_exact_cardinality()?;
                        self.parse_cardinality(CardinalityKind::FieldKey, exact)?
                    }
                    Tok::Keyword(Keyword::Keys) => self.parse_show_field_keys()?,
                    _ => return Err(Self::unexpected(&next, &["KEY", "KEYS"])),
                }
            }
            Keyword::Grants => {
                self.expect_kw(Keyword::For)?;
                Statement::ShowGrants {
                    user: self.parse_ident()?,
                }
            }
            Keyword::Measurement => {
                let exact = self.parse_exact_cardinality()?;
                self.parse_cardinality(CardinalityKind::Measurement, exact)?
            }
            Keyword::Measurements => self.parse_show_measurements()?,
            Keyword::Queries => Statement::ShowQueries,
            Keyword::Retention => {
                self.expect_kw(Keyword::Policies)?;
                Statement::ShowRetentionPolicies {
                    database: self.parse_on_database()?,
                }
            }
            Keyword::Series => {
                if self.peek().tok.is_keyword(Keyword::Exact)
                    || self.peek().tok.is_keyword(Keyword::Cardinality)
                {
                    let exact = self.parse_exact_cardinality()?;
                    self.parse_cardinality(CardinalityKind::Series, exact)?
                } else {
                    self.parse_show_series()?
                }
            }
            Keyword::Shard => {
                self.expect_kw(Keyword::Groups)?;
                Statement::ShowShardGroups
            }
            Keyword::Shards => Statement::ShowShards,
            Keyword::Stats => Statement::ShowStats {
                module: self.parse_module()?,
            },
            Keyword::Subscriptions => Statement::ShowSubscriptions,
            Keyword::Tag => self.parse_show_tag()?,
            Keyword::Users => Statement::ShowUsers,
            _ => return Err(Self::unexpected(&token, SHOW_KEYWORDS)),
        })
    }

    /// `FOR 'module'` of SHOW STATS / DIAGNOSTICS, if present.
    fn parse_module(&mut self) -> PResult<Option<String>> {
        if !self.accept_kw(Keyword::For) {
            return Ok(None);
        }
        self.parse_string().map(Some)
    }

    /// `[EXACT] CARDINALITY`; returns whether EXACT was there.
    fn parse_exact_cardinality(&mut self) -> PResult<bool> {
        let exact = self.accept_kw(Keyword::Exact);
        let token = self.next();
        if token.tok.is_keyword(Keyword::Cardinality) {
            return Ok(exact);
        }
        let expected: &[&str] = if exact {
            &["CARDINALITY"]
        } else {
            &["EXACT", "CARDINALITY"]
        };
        Err(Self::unexpected(&token, expected))
    }

    fn parse_show_tag(&mut self) -> PResult<Statement> {
        let token = self.next();
        match token.tok {
            Tok::Keyword(Keyword::Key) => {
                let exact = self.parse_exact_cardinality()?;
                self.parse_cardinality(CardinalityKind::TagKey, exact)
            }
            Tok::Keyword(Keyword::Keys) => self.parse_show_tag_keys(),
            Tok::Keyword(Keyword::Values) => {
                if self.peek().tok.is_keyword(Keyword::Exact)
                    || self.peek().tok.is_keyword(Keyword::Cardinality)
                {
                    let exact = self.parse_exact_cardinality()?;
                    // A placeholder: WITH KEY comes after FROM and is read there.
                    let kind = CardinalityKind::TagValues(TagKeyFilter::In(Vec::new()));
                    self.parse_cardinality(kind, exact)
                } else {
                    self.parse_show_tag_values()
                }
            }
            _ => Err(Self::unexpected(&token, &["KEY", "KEYS", "VALUES"])),
        }
    }

    /// The clauses of every cardinality statement, `... CARDINALITY` read.
    fn parse_cardinality(&mut self, mut kind: CardinalityKind, exact: bool) -> PResult<Statement> {
        let database = self.parse_on_database()?;
        let sources = self.parse_optional_from()?;
        if let CardinalityKind::TagValues(key) = &mut kind {
            *key = self.parse_tag_key_filter()?;
        }
        Ok(Statement::ShowCardinality(ShowCardinalityStatement {
            kind,
            exact,
            database,
            sources,
            condition: self.parse_condition()?,
            dimensions: self.parse_dimensions()?,
            limit: self.parse_optional_int(Keyword::Limit)?,
            offset: self.parse_optional_int(Keyword::Offset)?,
        }))
    }

    /// `WITH KEY (= k | != k | =~ /re/ | !~ /re/ | IN (k, ...))`.
    fn parse_tag_key_filter(&mut self) -> PResult<TagKeyFilter> {
        self.expect_kw(Keyword::With)?;
        self.expect_kw(Keyword::Key)?;
        let token = self.next();
        Ok(match token.tok {
            Tok::Keyword(Keyword::In) => {
                self.expect(&Tok::LParen)?;
                let mut keys = vec![self.parse_ident()?];
                while self.accept(&Tok::Comma) {
                    keys.push(self.parse_ident()?);
                }
                self.expect(&Tok::RParen)?;
                TagKeyFilter::In(keys)
            }
            Tok::Eq => TagKeyFilter::Eq(self.parse_ident()?),
            Tok::Neq => TagKeyFilter::NotEq(self.parse_ident()?),
            Tok::EqRegex | Tok::NeqRegex => {
                let Some(re) = self.try_regex()? else {
                    return Err(Self::unexpected(self.peek(), &["regex"]));
                };
                if token.tok == Tok::EqRegex {
                    TagKeyFilter::EqRegex(re)
                } else {
                    TagKeyFilter::NotEqRegex(re)
                }
            }
            _ => return Err(Self::unexpected(&token, &["IN", "=", "=~"])),
        })
    }

    fn parse_name_or_wildcard(&mut self) -> PResult<NameOrWildcard> {
        let token: Token = self.next();
        match token.tok {
            Tok::Ident(name) => Ok(NameOrWildcard::Name(name)),
            Tok::Mul => Ok(NameOrWildcard::Wildcard),
            _ => Err(Self::unexpected(&token, &["identifier or *"])),
        }
    }

    fn parse_show_measurements(&mut self) -> PResult<Statement> {
        let on = if self.accept_kw(Keyword::On) {
            let database = self.parse_name_or_wildcard()?;
            let retention_policy = if self.accept(&Tok::Dot) {
                Some(self.parse_name_or_wildcard()?)
            } else {
                None
            };
            Some(MeasurementsOn {
                database,
                retention_policy,
            })
        } else {
            None
        };
        let source = if self.accept_kw(Keyword::With) {
            self.expect_kw(Keyword::Measurement)?;
            let token = self.next();
            if !matches!(token.tok, Tok::Eq | Tok::EqRegex) {
                return Err(Self::unexpected(&token, &["=", "=~"]));
            }
            match self.parse_source(false)? {
                Source::Measurement(m) => Some(m),
                Source::Subquery(_) => unreachable!("subqueries are not parsed here"),
            }
        } else {
            None
        };
        Ok(Statement::ShowMeasurements(ShowMeasurementsStatement {
            on,
            source,
            condition: self.parse_condition()?,
            order_by: self.parse_order_by()?,
            limit: self.parse_optional_int(Keyword::Limit)?,
            offset: self.parse_optional_int(Keyword::Offset)?,
        }))
    }

    fn parse_show_tag_keys(&mut self) -> PResult<Statement> {
        let database = self.parse_on_database()?;
        let sources = self.parse_optional_from()?;
        let key = if self.peek().tok.is_keyword(Keyword::With) {
            Some(self.parse_tag_key_filter()?)
        } else {
            None
        };
        Ok(Statement::ShowTagKeys(ShowTagKeysStatement {
            database,
            sources,
            key,
            condition: self.parse_condition()?,
            order_by: self.parse_order_by()?,
            limit: self.parse_optional_int(Keyword::Limit)?,
            offset: self.parse_optional_int(Keyword::Offset)?,
            slimit: self.parse_optional_int(Keyword::Slimit)?,
            soffset: self.parse_optional_int(Keyword::Soffset)?,
        }))
    }

    fn parse_show_tag_values(&mut self) -> PResult<Statement> {
        let database = self.parse_on_database()?;
        let sources = self.parse_optional_from()?;
        let key = self.parse_tag_key_filter()?;
        Ok(Statement::ShowTagValues(ShowTagValuesStatement {
            database,
            sources,
            key,
            condition: self.parse_condition()?,
            order_by: self.parse_order_by()?,
            limit: self.parse_optional_int(Keyword::Limit)?,
            offset: self.parse_optional_int(Keyword::Offset)?,
        }))
    }

    fn parse_show_field_keys(&mut self) -> PResult<Statement> {
        Ok(Statement::ShowFieldKeys(ShowFieldKeysStatement {
            database: self.parse_on_database()?,
            sources: self.parse_optional_from()?,
            order_by: self.parse_order_by()?,
            limit: self.parse_optional_int(Keyword::Limit)?,
            offset: self.parse_optional_int(Keyword::Offset)?,
        }))
    }

    fn parse_show_series(&mut self) -> PResult<Statement> {
        Ok(Statement::ShowSeries(ShowSeriesStatement {
            database: self.parse_on_database()?,
            sources: self.parse_optional_from()?,
            condition: self.parse_condition()?,
            order_by: self.parse_order_by()?,
            limit: self.parse_optional_int(Keyword::Limit)?,
            offset: self.parse_optional_int(Keyword::Offset)?,
        }))
    }
}
