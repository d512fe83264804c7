//! Series selection through the postings, and the cache of series keys.
//!
//! A tag condition reads the postings of the values it accepts (one range per value, or every
//! value of the tag key for a regex); conditions on several tags intersect. With no tag
//! condition, the measurement-wide posting lists every series.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

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

/// Most series keys kept; the cache starts over when full (keys are small and re-read cheaply).
const MAX_CACHED_SERIES: usize = 1 << 20;

/// Series keys by id. A series id's key never changes once written, so entries need no expiry.
#[derive(Debug, Default)]
pub(crate) struct SeriesCache {
    keys: Mutex<HashMap<(TenantId, SeriesId), Arc<SeriesKey>>>,
}

impl SeriesCache {
    fn cached(&self, tenant: TenantId, series: SeriesId) -> Option<Arc<SeriesKey>> {
        self.lock().get(&(tenant, series)).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(TenantId, SeriesId), Arc<SeriesKey>>> {
        self.keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The key of a series, from the cache or storage.
    pub(crate) async fn key<D: KvDatabase>(
        &self,
        window: &mut ReadWindow<D>,
        layout: &Layout,
        tenant: TenantId,
        series: SeriesId,
    ) -> QueryResult<Arc<SeriesKey>> {
        if let Some(key) = self.cached(tenant, series) {
            return Ok(key);
        }
        let key = layout
            .series_key(window.tx()?, tenant, series)
            .await?
            .ok_or_else(|| {
                QueryError::Corrupt(format!("series {} has a posting but no record", series.0))
            })?;
        let key = Arc::new(key);
        let mut keys = self.lock();
        if keys.len() >= MAX_CACHED_SERIES {
            keys.clear();
        }
        keys.insert((tenant, series), key.clone());
        Ok(key)
    }
}
