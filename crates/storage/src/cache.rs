//! A cache bounded by bytes, for the caches every tier keeps of what it read from storage
//! (the writer's tenants, fields and series, the query engine's series keys, auth's tokens).
//!
//! Two generations: entries go into the young one; once it holds half the budget, it becomes
//! the old one and the previous old one is dropped; a hit in the old generation moves the entry
//! back to the young one. Recently used entries survive, the rest are evicted in bulk, and no
//! input (however many distinct keys it brings) grows the cache past its budget. (The same
//! scheme as VictoriaMetrics' `workingsetcache`, without its time-based rotation.)

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// Bookkeeping per entry on top of what its size function reports (map slot, hash, pointers).
const ENTRY_OVERHEAD: usize = 48;

struct Generations<K, V> {
    young: HashMap<K, V, foldhash::fast::RandomState>,
    old: HashMap<K, V, foldhash::fast::RandomState>,
    young_bytes: usize,
}

/// A byte-bounded, thread-safe cache.
pub struct BoundedCache<K, V> {
    inner: Mutex<Generations<K, V>>,
    budget: usize,
    size_of: fn(&K, &V) -> usize,
}

impl<K, V> std::fmt::Debug for BoundedCache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundedCache")
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl<K: Hash + Eq + Clone, V: Clone> BoundedCache<K, V> {
    /// A cache holding about `budget` bytes as `size_of` counts them (plus a fixed overhead per
    /// entry).
    pub fn new(budget: usize, size_of: fn(&K, &V) -> usize) -> Self {
        Self {
            inner: Mutex::new(Generations {
                young: HashMap::default(),
                old: HashMap::default(),
                young_bytes: 0,
            }),
            budget: budget.max(1),
            size_of,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations<K, V>> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The value of `key`, if cached.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut generations = self.lock();
        if let Some(value) = generations.young.get(key) {
            return Some(value.clone());
        }
        let (key, value) = generations.old.remove_entry(key)?;
        self.insert_locked(&mut generations, key, value.clone());
        Some(value)
    }

    /// Caches `value` under `key`.
    pub fn insert(&self, key: K, value: V) {
        let mut generations = self.lock();
        self.insert_locked(&mut generations, key, value);
    }

    fn insert_locked(&self, generations: &mut Generations<K, V>, key: K, value: V) {
        let size = (self.size_of)(&key, &value) + ENTRY_OVERHEAD;
        if size > self.budget / 2 {
            return;
        }
        if generations.young_bytes + size > self.budget / 2 {
            generations.old = std::mem::take(&mut generations.young);
            generations.young_bytes = 0;
        }
        if let Some(previous) = generations.young.insert(key.clone(), value) {
            generations.young_bytes = generations
                .young_bytes
                .saturating_sub((self.size_of)(&key, &previous) + ENTRY_OVERHEAD);
        }
        generations.young_bytes += size;
    }

    /// Forgets `key` (its entry may be stale).
    pub fn remove<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut generations = self.lock();
        if let Some((key, value)) = generations.young.remove_entry(key) {
            let size = (self.size_of)(&key, &value) + ENTRY_OVERHEAD;
            generations.young_bytes = generations.young_bytes.saturating_sub(size);
        }
        generations.old.remove(key);
    }

    /// Entries cached (both generations).
    pub fn len(&self) -> usize {
        let generations = self.lock();
        generations.young.len() + generations.old.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(key: &std::sync::Arc<str>, value: &u64) -> usize {
        key.len() + std::mem::size_of_val(value)
    }

    #[test]
    fn the_budget_bounds_the_cache_and_recent_entries_survive() {
        let cache = BoundedCache::new(64 * 1024, bytes);
        for i in 0..100_000u64 {
            cache.insert(format!("key{i}").into(), i);
            // A hot key, used all along, is never evicted.
            cache.insert("hot".into(), 7);
            assert_eq!(cache.get("hot"), Some(7));
        }
        assert!(cache.len() < 64 * 1024 / ENTRY_OVERHEAD, "{}", cache.len());
        assert_eq!(cache.get("key99999"), Some(99_999));
        assert_eq!(cache.get("key0"), None);
        // An entry bigger than half the budget is not cached at all.
        let cache = BoundedCache::new(100, bytes);
        cache.insert("x".repeat(200).into(), 1);
        assert!(cache.is_empty());
    }

    #[test]
    fn removed_entries_are_gone_from_both_generations() {
        let cache = BoundedCache::new(1024, bytes);
        cache.insert("old".into(), 1);
        // Fill the young generation until "old" has moved to the old one.
        for i in 0..20u64 {
            cache.insert(format!("k{i}").into(), i);
        }
        cache.insert("young".into(), 2);
        cache.remove("old");
        cache.remove("young");
        assert_eq!((cache.get("old"), cache.get("young")), (None, None));
        assert_eq!(cache.get("k19"), Some(19));
    }
}
