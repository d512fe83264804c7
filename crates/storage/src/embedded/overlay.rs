//! A transaction's own writes as its reads must see them (FDB's read-your-writes map).
//!
//! The overlay answers "what does this transaction see at key k" without touching storage when
//! it can, and tells the conflict recorder which keys were written independently of the base
//! value (sets, clears, range clears): FDB records no read conflict for those.

use std::collections::BTreeMap;
use std::ops::Bound;

use crate::atomic;
use crate::error::{KvError, KvResult, code};
use crate::kv::{AtomicOp, KeyValue};
use crate::ranges::{self, KeyRange};

/// What the transaction wrote at one key.
#[derive(Debug, Clone)]
pub(super) enum Entry {
    /// The value is known without reading storage (set, clear, or an atomic op over a known value).
    Known(Option<Vec<u8>>),
    /// Atomic ops over a value still to be read from storage.
    Pending(Vec<(AtomicOp, Vec<u8>)>),
    /// Written with a versionstamped value: unreadable until commit.
    Unreadable,
}

/// The answer of a point lookup in the overlay.
#[derive(Debug)]
pub(super) enum Lookup<'a> {
    /// The transaction's own write decides the value.
    Known(Option<Vec<u8>>),
    /// Storage's value with these ops applied on top.
    Pending(&'a [(AtomicOp, Vec<u8>)]),
    /// Reading this key fails with `accessed_unreadable`.
    Unreadable,
    /// Untouched: storage decides.
    Base,
}

#[derive(Debug, Default)]
pub(super) struct Overlay {
    entries: BTreeMap<Vec<u8>, Entry>,
    /// Ranges cleared by `clear_range`, coalesced; later point writes live in `entries`.
    cleared: Vec<KeyRange>,
    /// Ranges that may hold versionstamped keys written by this transaction.
    unreadable: Vec<KeyRange>,
}

impl Overlay {
    pub(super) fn set(&mut self, key: &[u8], value: Option<Vec<u8>>) {
        self.entries.insert(key.to_vec(), Entry::Known(value));
    }

    pub(super) fn clear_range(&mut self, range: &KeyRange) {
        let doomed: Vec<Vec<u8>> = self
            .entries
            .range::<[u8], _>((
                Bound::Included(&range.begin[..]),
                Bound::Excluded(&range.end[..]),
            ))
            .map(|(key, _)| key.clone())
            .collect();
        for key in doomed {
            self.entries.remove(&key);
        }
        let mut cleared = std::mem::take(&mut self.cleared);
        cleared.push(range.clone());
        self.cleared = ranges::coalesce(cleared);
    }

    pub(super) fn atomic(&mut self, key: &[u8], op: AtomicOp, param: &[u8]) {
        let in_cleared = ranges::any_intersects(&self.cleared, &KeyRange::single(key));
        let entry = match self.entries.remove(key) {
            Some(Entry::Known(value)) => Entry::Known(atomic::apply(op, value.as_deref(), param)),
            Some(Entry::Pending(mut ops)) => {
                ops.push((op, param.to_vec()));
                Entry::Pending(ops)
            }
            Some(Entry::Unreadable) => Entry::Unreadable,
            None if in_cleared => Entry::Known(atomic::apply(op, None, param)),
            None => Entry::Pending(vec![(op, param.to_vec())]),
        };
        self.entries.insert(key.to_vec(), entry);
    }

    pub(super) fn mark_unreadable_key(&mut self, key: &[u8]) {
        self.entries.insert(key.to_vec(), Entry::Unreadable);
    }

    pub(super) fn mark_unreadable_range(&mut self, range: KeyRange) {
        self.unreadable.push(range);
    }

    pub(super) fn lookup(&self, key: &[u8]) -> Lookup<'_> {
        if self.unreadable.iter().any(|range| range.contains(key)) {
            return Lookup::Unreadable;
        }
        match self.entries.get(key) {
            Some(Entry::Known(value)) => Lookup::Known(value.clone()),
            Some(Entry::Pending(ops)) => Lookup::Pending(ops),
            Some(Entry::Unreadable) => Lookup::Unreadable,
            None if ranges::any_intersects(&self.cleared, &KeyRange::single(key)) => {
                Lookup::Known(None)
            }
            None => Lookup::Base,
        }
    }

    /// Fails with `accessed_unreadable` when `range` may hold a versionstamped write.
    pub(super) fn check_readable(&self, range: &KeyRange) -> KvResult<()> {
        let stamped_key = self
            .unreadable
            .iter()
            .any(|stamped| stamped.intersects(range));
        let stamped_value = self
            .entries_in(range)
            .any(|(_, entry)| matches!(entry, Entry::Unreadable));
        if stamped_key || stamped_value {
            return Err(KvError::from_code(code::ACCESSED_UNREADABLE));
        }
        Ok(())
    }

    pub(super) fn entries_in<'a>(
        &'a self,
        range: &KeyRange,
    ) -> impl DoubleEndedIterator<Item = (&'a Vec<u8>, &'a Entry)> + 'a {
        let bounds = (
            Bound::Included(range.begin.clone()),
            Bound::Excluded(range.end.clone()),
        );
        let empty = range.is_empty();
        self.entries.range(bounds).filter(move |_| !empty)
    }

    pub(super) fn is_cleared(&self, key: &[u8]) -> bool {
        ranges::any_intersects(&self.cleared, &KeyRange::single(key))
    }

    /// The parts of `range` whose value this transaction wrote without depending on storage.
    pub(super) fn independent_writes_in(&self, range: &KeyRange) -> Vec<KeyRange> {
        let mut holes: Vec<KeyRange> = self
            .cleared
            .iter()
            .filter(|cleared| cleared.intersects(range))
            .cloned()
            .collect();
        holes.extend(
            self.entries_in(range)
                .filter(|(_, entry)| matches!(entry, Entry::Known(_)))
                .map(|(key, _)| KeyRange::single(key)),
        );
        holes
    }
}

/// Applies pending atomic ops over a base value.
pub(super) fn resolve_pending(
    base: Option<Vec<u8>>,
    ops: &[(AtomicOp, Vec<u8>)],
) -> Option<Vec<u8>> {
    ops.iter().fold(base, |value, (op, param)| {
        atomic::apply(*op, value.as_deref(), param)
    })
}

/// The transaction's own entries inside a range, in read order.
type OwnEntries<'a> = Box<dyn Iterator<Item = (&'a Vec<u8>, &'a Entry)> + 'a>;
/// Reads one key's stored value (for pending atomic ops met during a range read).
pub(super) type ReadBase<'a> = &'a dyn Fn(&[u8]) -> KvResult<Option<Vec<u8>>>;

/// Merges a storage iterator with the overlay into what the transaction sees, in read order.
pub(super) struct MergedRange<'a, B: Iterator> {
    base: std::iter::Peekable<B>,
    own: std::iter::Peekable<OwnEntries<'a>>,
    overlay: &'a Overlay,
    reverse: bool,
    read_base: ReadBase<'a>,
}

impl<'a, B> MergedRange<'a, B>
where
    B: Iterator<Item = KvResult<KeyValue>>,
{
    pub(super) fn new(
        base: B,
        overlay: &'a Overlay,
        range: &KeyRange,
        reverse: bool,
        read_base: ReadBase<'a>,
    ) -> Self {
        let own: OwnEntries<'a> = if reverse {
            Box::new(overlay.entries_in(range).rev())
        } else {
            Box::new(overlay.entries_in(range))
        };
        Self {
            base: base.peekable(),
            own: own.peekable(),
            overlay,
            reverse,
            read_base,
        }
    }

    /// True when `a` comes before `b` in read order.
    fn before(&self, a: &[u8], b: &[u8]) -> bool {
        if self.reverse { a > b } else { a < b }
    }
}

impl<B> Iterator for MergedRange<'_, B>
where
    B: Iterator<Item = KvResult<KeyValue>>,
{
    type Item = KvResult<KeyValue>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            // Drop storage rows the transaction overwrote or cleared.
            let base_key = match self.base.peek() {
                Some(Ok((key, _))) => Some(key.clone()),
                Some(Err(_)) => return self.base.next(),
                None => None,
            };
            if let Some(key) = &base_key {
                let shadowed =
                    self.overlay.entries.contains_key(key) || self.overlay.is_cleared(key);
                if shadowed {
                    self.base.next();
                    continue;
                }
            }
            let own_key = self.own.peek().map(|(key, _)| (*key).clone());
            let take_own = match (&base_key, &own_key) {
                (None, None) => return None,
                (Some(_), None) => false,
                (None, Some(_)) => true,
                (Some(base), Some(own)) => self.before(own, base),
            };
            if !take_own {
                return self.base.next();
            }
            let (key, entry) = self.own.next()?;
            let value = match entry {
                Entry::Known(value) => value.clone(),
                Entry::Pending(ops) => match (self.read_base)(key) {
                    Ok(base) => resolve_pending(base, ops),
                    Err(error) => return Some(Err(error)),
                },
                Entry::Unreadable => {
                    return Some(Err(KvError::from_code(code::ACCESSED_UNREADABLE)));
                }
            };
            if let Some(value) = value {
                return Some(Ok((key.clone(), value)));
            }
        }
    }
}
