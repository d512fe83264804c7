//! Series selection through the postings, and the cache of series keys.
//!
//! A tag condition reads the postings of the values it accepts (one range per value, or every
//! value of the tag key for a regex); conditions on several tags intersect. With no tag
//! condition, the measurement-wide posting lists every series.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tidemark_storage::cache::BoundedCache;
use tidemark_storage::tsdb::{Layout, SeriesId, SeriesKey, TenantId};
use tidemark_storage::{KvDatabase, RangeRequest, ReadWindow};

use crate::error::{QueryError, QueryResult};
use crate::predicate::TagMatch;

/// Finds the series of `measurement` that can satisfy every tag condition.
pub(crate) async fn select_series<D: KvDatabase>(
    window: &mut ReadWindow<D>,
    layout: &Layout,
    tenant: TenantId,
    measurement: &str,
    tags: &BTreeMap<String, Vec<TagMatch>>,
) -> QueryResult<Vec<SeriesId>> {
    let mut selected: Option<BTreeSet<SeriesId>> = None;
    for (tag, matchers) in tags {
        for matcher in matchers {
            let found = series_with(window, layout, tenant, measurement, tag, matcher).await?;
            selected = Some(match selected {
                None => found,
                Some(previous) => previous.intersection(&found).copied().collect(),
            });
            if selected.as_ref().is_some_and(BTreeSet::is_empty) {
                return Ok(Vec::new());
            }
        }
    }
    match selected {
        Some(series) => Ok(series.into_iter().collect()),
        None => {
            let (begin, end) = layout.postings(tenant, measurement, ("", ""));
            let mut all = Vec::new();
            window
                .read_append_only(&RangeRequest::new(begin, end), |(key, _)| {
                    all.extend(layout.posting_series(&key));
                })
                .await?;
            Ok(all)
        }
    }
}

async fn series_with<D: KvDatabase>(
    window: &mut ReadWindow<D>,
    layout: &Layout,
    tenant: TenantId,
    measurement: &str,
    tag: &str,
    matcher: &TagMatch,
) -> QueryResult<BTreeSet<SeriesId>> {
    let mut found = BTreeSet::new();
    match matcher {
        TagMatch::Values(values) => {
            for value in values {
                let (begin, end) = layout.postings(tenant, measurement, (tag, value));
                window
                    .read_append_only(&RangeRequest::new(begin, end), |(key, _)| {
                        found.extend(layout.posting_series(&key));
                    })
                    .await?;
            }
        }
        TagMatch::Regex(_) => {
            let (begin, end) = layout.tag_postings(tenant, measurement, tag);
            window
                .read_append_only(&RangeRequest::new(begin, end), |(key, _)| {
                    if let Some((value, series)) = layout.posting_entry(&key)
                        && matcher.accepts(&value)
                    {
                        found.insert(series);
                    }
                })
                .await?;
        }
    }
    Ok(found)
}

/// Memory of the cache of series keys.
const SERIES_CACHE_BYTES: usize = 64 << 20;

/// Series keys by id, bounded by bytes. A series id's key never changes once written, so
/// entries need no expiry.
#[derive(Debug)]
pub(crate) struct SeriesCache {
    keys: BoundedCache<(TenantId, SeriesId), Arc<SeriesKey>>,
}

impl Default for SeriesCache {
    fn default() -> Self {
        Self {
            keys: BoundedCache::new(SERIES_CACHE_BYTES, |_, key| {
                32 + key.measurement.len()
                    + key
                        .tags
                        .iter()
                        .map(|(name, value)| name.len() + value.len() + 48)
                        .sum::<usize>()
            }),
        }
    }
}

impl SeriesCache {
    /// The key of a series, from the cache or storage.
    pub(crate) async fn key<D: KvDatabase>(
        &self,
        window: &mut ReadWindow<D>,
        layout: &Layout,
        tenant: TenantId,
        series: SeriesId,
    ) -> QueryResult<Arc<SeriesKey>> {
        if let Some(key) = self.keys.get(&(tenant, series)) {
            return Ok(key);
        }
        let found = window
            .read(|tx| {
                let layout = layout.clone();
                Box::pin(async move {
                    Ok::<_, QueryError>(layout.series_key(tx, tenant, series).await?)
                })
            })
            .await?;
        let key = Arc::new(found.ok_or_else(|| {
            QueryError::Corrupt(format!("series {} has a posting but no record", series.0))
        })?);
        self.keys.insert((tenant, series), Arc::clone(&key));
        Ok(key)
    }
}
