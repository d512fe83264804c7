//! SHOW statement nodes.

use super::{Expr, Measurement, RegexLit, SortField, Source};

/// `ON` of SHOW MEASUREMENTS, which alone may name a policy or use wildcards.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MeasurementsOn {
    /// `ON db` or `ON *`.
    pub database: NameOrWildcard,
    /// `ON db.rp` or `ON db.*`.
    pub retention_policy: Option<NameOrWildcard>,
}

/// A name, or `*` for all.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NameOrWildcard {
    /// A name.
    Name(String),
    /// `*`
    Wildcard,
}

/// `SHOW MEASUREMENTS [ON ...] [WITH MEASUREMENT =|=~ ...] [WHERE] [ORDER BY] [LIMIT] [OFFSET]`
#[derive(Debug, Clone, PartialEq)]
pub struct ShowMeasurementsStatement {
    /// The `ON` clause.
    pub on: Option<MeasurementsOn>,
    /// `WITH MEASUREMENT = m` or `=~ /re/` (the operator follows from the name's kind).
    pub source: Option<Measurement>,
    /// The `WHERE` condition.
    pub condition: Option<Expr>,
    /// `ORDER BY`
    pub order_by: Option<SortField>,
    /// `LIMIT n`
    pub limit: Option<u64>,
    /// `OFFSET n`
    pub offset: Option<u64>,
}

/// `WITH KEY ...` of SHOW TAG KEYS / TAG VALUES.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TagKeyFilter {
    /// `= key`
    Eq(String),
    /// `!= key`
    NotEq(String),
    /// `=~ /re/`
    EqRegex(RegexLit),
    /// `!~ /re/`
    NotEqRegex(RegexLit),
    /// `IN (k1, k2, ...)`
    In(Vec<String>),
}

/// `SHOW TAG KEYS [ON db] [FROM] [WITH KEY] [WHERE] [ORDER BY] [LIMIT] [OFFSET] [SLIMIT]
/// [SOFFSET]`
#[derive(Debug, Clone, PartialEq)]
pub struct ShowTagKeysStatement {
    /// `ON db`
    pub database: Option<String>,
    /// `FROM` sources.
    pub sources: Vec<Source>,
    /// `WITH KEY ...`
    pub key: Option<TagKeyFilter>,
    /// The `WHERE` condition.
    pub condition: Option<Expr>,
    /// `ORDER BY`
    pub order_by: Option<SortField>,
    /// `LIMIT n`
    pub limit: Option<u64>,
    /// `OFFSET n`
    pub offset: Option<u64>,
    /// `SLIMIT n`
    pub slimit: Option<u64>,
    /// `SOFFSET n`
    pub soffset: Option<u64>,
}

/// `SHOW TAG VALUES [ON db] [FROM] WITH KEY ... [WHERE] [ORDER BY] [LIMIT] [OFFSET]`
#[derive(Debug, Clone, PartialEq)]
pub struct ShowTagValuesStatement {
    /// `ON db`
    pub database: Option<String>,
    /// `FROM` sources.
    pub sources: Vec<Source>,
    /// `WITH KEY ...`, required.
    pub key: TagKeyFilter,
    /// The `WHERE` condition.
    pub condition: Option<Expr>,
    /// `ORDER BY`
    pub order_by: Option<SortField>,
    /// `LIMIT n`
    pub limit: Option<u64>,
    /// `OFFSET n`
    pub offset: Option<u64>,
}

/// `SHOW FIELD KEYS [ON db] [FROM] [ORDER BY] [LIMIT] [OFFSET]`
#[derive(Debug, Clone, PartialEq)]
pub struct ShowFieldKeysStatement {
    /// `ON db`
    pub database: Option<String>,
    /// `FROM` sources.
    pub sources: Vec<Source>,
    /// `ORDER BY`
    pub order_by: Option<SortField>,
    /// `LIMIT n`
    pub limit: Option<u64>,
    /// `OFFSET n`
    pub offset: Option<u64>,
}

/// `SHOW SERIES [ON db] [FROM] [WHERE] [ORDER BY] [LIMIT] [OFFSET]`
#[derive(Debug, Clone, PartialEq)]
pub struct ShowSeriesStatement {
    /// `ON db`
    pub database: Option<String>,
    /// `FROM` sources.
    pub sources: Vec<Source>,
    /// The `WHERE` condition.
    pub condition: Option<Expr>,
    /// `ORDER BY`
    pub order_by: Option<SortField>,
    /// `LIMIT n`
    pub limit: Option<u64>,
    /// `OFFSET n`
    pub offset: Option<u64>,
}

/// What a cardinality statement counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CardinalityKind {
    /// `SHOW MEASUREMENT [EXACT] CARDINALITY`
    Measurement,
    /// `SHOW SERIES [EXACT] CARDINALITY`
    Series,
    /// `SHOW TAG KEY [EXACT] CARDINALITY`
    TagKey,
    /// `SHOW TAG VALUES [EXACT] CARDINALITY ... WITH KEY ...`
    TagValues(TagKeyFilter),
    /// `SHOW FIELD KEY [EXACT] CARDINALITY`
    FieldKey,
}

/// `SHOW ... [EXACT] CARDINALITY [ON db] [FROM] [WITH KEY] [WHERE] [GROUP BY] [LIMIT]
/// [OFFSET]`
#[derive(Debug, Clone, PartialEq)]
pub struct ShowCardinalityStatement {
    /// What is counted (with the `WITH KEY` filter for tag values).
    pub kind: CardinalityKind,
    /// `EXACT`: count exactly rather than estimate.
    pub exact: bool,
    /// `ON db`
    pub database: Option<String>,
    /// `FROM` sources.
    pub sources: Vec<Source>,
    /// The `WHERE` condition.
    pub condition: Option<Expr>,
    /// `GROUP BY` dimensions.
    pub dimensions: Vec<Expr>,
    /// `LIMIT n`
    pub limit: Option<u64>,
    /// `OFFSET n`
    pub offset: Option<u64>,
}
