//! Series identity: the canonical series key and its 64-bit id.

use super::{Layout, TenantId};
use crate::error::{KvError, KvResult};
use crate::keys::{pack, unpack};
use crate::kv::KvTransaction;

/// Collisions of 64-bit hashes are rare; a chain this long means something is wrong.
const MAX_PROBES: u64 = 64;

/// Where a collision-chain walk ended.
enum Probe {
    /// The key's own record.
    Found(SeriesId),
    /// The first id without a record.
    Free(SeriesId),
}

/// A series id: xxh3-64 of the canonical series key, bumped past collisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesId(pub u64);

/// A measurement and its tag set, tags sorted by key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    /// Measurement name.
    pub measurement: String,
    /// Tags, sorted by key, keys unique.
    pub tags: Vec<(String, String)>,
}

impl SeriesKey {
    /// Creates a series key, sorting the tags.
    pub fn new(measurement: impl Into<String>, mut tags: Vec<(String, String)>) -> Self {
        tags.sort();
        Self {
            measurement: measurement.into(),
            tags,
        }
    }

    /// The canonical bytes: the tuple `(measurement, k1, v1, k2, v2, ...)`.
    pub fn canonical(&self) -> Vec<u8> {
        let mut bytes = pack(&self.measurement.as_str());
        for (key, value) in &self.tags {
            bytes.extend(pack(&key.as_str()));
            bytes.extend(pack(&value.as_str()));
        }
        bytes
    }

    /// Parses canonical bytes back.
    pub fn from_canonical(bytes: &[u8]) -> Option<Self> {
        let elements: Vec<String> = unpack_strings(bytes)?;
        let (measurement, rest) = elements.split_first()?;
        if rest.len() % 2 != 0 {
            return None;
        }
        let tags = rest
            .chunks_exact(2)
            .map(|pair| (pair[0].clone(), pair[1].clone()))
            .collect();
        Some(Self {
            measurement: measurement.clone(),
            tags,
        })
    }

    /// The id this key hashes to before collision probing.
    pub fn hashed_id(&self) -> SeriesId {
        SeriesId(xxhash_rust::xxh3::xxh3_64(&self.canonical()))
    }
}

impl Layout {
    /// Finds the series id of `key`, or creates the series (record, postings, tag keys).
    ///
    /// Probes from the hashed id until it finds this key's record or a free id: a different key
    /// at the hashed id is a collision. The reads are serializable, so two nodes creating the
    /// same or colliding series at once conflict and the retry sees the winner's record.
    /// Returns the id and whether the series was created.
    pub async fn resolve_series<T: KvTransaction>(
        &self,
        tx: &T,
        tenant: TenantId,
        key: &SeriesKey,
    ) -> KvResult<(SeriesId, bool)> {
        match self.probe_series(tx, tenant, key, false).await? {
            Probe::Found(id) => Ok((id, false)),
            Probe::Free(id) => {
                tx.set(&self.series(tenant, id), &key.canonical());
                tx.set(&self.posting(tenant, &key.measurement, ("", ""), id), b"");
                for (tag, value) in &key.tags {
                    tx.set(
                        &self.posting(tenant, &key.measurement, (tag, value), id),
                        b"",
                    );
                    self.add_tag_key(tx, tenant, &key.measurement, tag);
                }
                Ok((id, true))
            }
        }
    }

    /// Finds the id of an existing series without creating anything (snapshot reads).
    pub async fn find_series<T: KvTransaction>(
        &self,
        tx: &T,
        tenant: TenantId,
        key: &SeriesKey,
    ) -> KvResult<Option<SeriesId>> {
        Ok(match self.probe_series(tx, tenant, key, true).await? {
            Probe::Found(id) => Some(id),
            Probe::Free(_) => None,
        })
    }

    /// Walks the collision chain from the hashed id to this key's record or the first free id.
    async fn probe_series<T: KvTransaction>(
        &self,
        tx: &T,
        tenant: TenantId,
        key: &SeriesKey,
        snapshot: bool,
    ) -> KvResult<Probe> {
        let canonical = key.canonical();
        let start = key.hashed_id();
        for probe in 0..MAX_PROBES {
            let id = SeriesId(start.0.wrapping_add(probe));
            match tx.get(&self.series(tenant, id), snapshot).await? {
                Some(existing) if existing == canonical => return Ok(Probe::Found(id)),
                Some(_) => tracing::warn!(series = ?key, probe, "series id collision"),
                None => return Ok(Probe::Free(id)),
            }
        }
        Err(KvError::internal(format!(
            "no free series id for {key:?} after {MAX_PROBES} probes"
        )))
    }

    /// Reads a series' key back from its id.
    pub async fn series_key<T: KvTransaction>(
        &self,
        tx: &T,
        tenant: TenantId,
        id: SeriesId,
    ) -> KvResult<Option<SeriesKey>> {
        let record = tx.get(&self.series(tenant, id), true).await?;
        Ok(record.as_deref().and_then(SeriesKey::from_canonical))
    }
}

/// Unpacks a concatenation of packed strings (a tuple without its enclosing nesting).
fn unpack_strings(bytes: &[u8]) -> Option<Vec<String>> {
    // The canonical form is a flat tuple, which `unpack` reads as a Vec of elements.
    unpack::<Vec<String>>(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_sorts_tags_and_round_trips() {
        let key = SeriesKey::new(
            "cpu",
            vec![
                ("region".into(), "eu,w\"1".into()),
                ("host".into(), "a b".into()),
            ],
        );
        assert_eq!(key.tags[0].0, "host");
        let parsed = SeriesKey::from_canonical(&key.canonical()).unwrap();
        assert_eq!(parsed, key);
        let same = SeriesKey::new(
            "cpu",
            vec![
                ("host".into(), "a b".into()),
                ("region".into(), "eu,w\"1".into()),
            ],
        );
        assert_eq!(same.hashed_id(), key.hashed_id());
        let other = SeriesKey::new("cpu", vec![("host".into(), "a".into())]);
        assert_ne!(other.hashed_id(), key.hashed_id());
        let bare = SeriesKey::new("m", vec![]);
        assert_eq!(SeriesKey::from_canonical(&bare.canonical()).unwrap(), bare);
    }
}
