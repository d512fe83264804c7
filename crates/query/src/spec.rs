//! What a read of the hot and cold tiers needs: the engine's shared handles ([`Shared`]) and
//! one read's description ([`ScanSpec`]). A leaf: the readers and the table providers import it.

use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use tidemark_storage::tsdb::{FieldType, Layout, TenantId};

use crate::cold::{ColdScan, FooterCache};
use crate::predicate::TimeRange;
use crate::select::SeriesCache;

/// What the engine shares with every scan.
pub(crate) struct Shared<D> {
    pub(crate) db: D,
    pub(crate) layout: Layout,
    pub(crate) series: SeriesCache,
    /// Concurrent series reads per scan partition.
    pub(crate) lanes: usize,
    /// The cold tier's object store, if any.
    pub(crate) cold: Option<tidemark_storage::cold::ColdStore>,
    /// Parsed footers of cold files.
    pub(crate) footers: Arc<FooterCache>,
}

impl<D> std::fmt::Debug for Shared<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("lanes", &self.lanes)
            .finish_non_exhaustive()
    }
}

/// One output column of a scan.
#[derive(Debug, Clone)]
pub(crate) enum OutputColumn {
    Time,
    Tag(String),
    Field(String, FieldType),
}

/// What a scan reads, shared by its partitions.
#[derive(Debug)]
pub(crate) struct ScanSpec {
    pub(crate) tenant: TenantId,
    pub(crate) measurement: String,
    /// The cold tier, when the engine has one.
    pub(crate) cold: Option<Arc<ColdScan>>,
    pub(crate) schema: SchemaRef,
    pub(crate) columns: Vec<OutputColumn>,
    pub(crate) time: TimeRange,
    pub(crate) batch_size: usize,
}

impl ScanSpec {
    pub(crate) fn wants_field(&self, name: &str) -> bool {
        self.columns
            .iter()
            .any(|column| matches!(column, OutputColumn::Field(field, _) if field == name))
    }

    pub(crate) fn wants_tags(&self) -> bool {
        self.columns
            .iter()
            .any(|column| matches!(column, OutputColumn::Tag(_)))
    }
}
