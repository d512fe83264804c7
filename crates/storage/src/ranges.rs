//! Half-open key ranges `[begin, end)` and the set operations the resolver needs.

/// A half-open key range `[begin, end)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeyRange {
    /// Inclusive start.
    pub begin: Vec<u8>,
    /// Exclusive end.
    pub end: Vec<u8>,
}

impl KeyRange {
    /// Creates `[begin, end)`.
    pub fn new(begin: impl Into<Vec<u8>>, end: impl Into<Vec<u8>>) -> Self {
        Self {
            begin: begin.into(),
            end: end.into(),
        }
    }

    /// The range holding exactly `key`.
    pub fn single(key: &[u8]) -> Self {
        Self::new(key, crate::keys::key_after(key))
    }

    /// True when the range holds no key.
    pub fn is_empty(&self) -> bool {
        self.begin >= self.end
    }

    /// True when the two ranges share at least one key.
    pub fn intersects(&self, other: &KeyRange) -> bool {
        self.begin < other.end && other.begin < self.end && !self.is_empty() && !other.is_empty()
    }

    /// True when `key` is inside the range.
    pub fn contains(&self, key: &[u8]) -> bool {
        self.begin.as_slice() <= key && key < self.end.as_slice()
    }

    /// Byte size as FDB counts it towards the transaction size.
    pub fn expected_size(&self) -> u64 {
        (self.begin.len() + self.end.len()) as u64
    }
}

/// Sorts ranges and merges the overlapping or touching ones, dropping empty ranges.
pub fn coalesce(mut ranges: Vec<KeyRange>) -> Vec<KeyRange> {
    ranges.retain(|range| !range.is_empty());
    ranges.sort_unstable();
    let mut merged: Vec<KeyRange> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.begin <= last.end => {
                if range.end > last.end {
                    last.end = range.end;
                }
            }
            _ => merged.push(range),
        }
    }
    merged
}

/// True when `probe` intersects any range of `sorted`, a coalesced (sorted, disjoint) list.
pub fn any_intersects(sorted: &[KeyRange], probe: &KeyRange) -> bool {
    if probe.is_empty() {
        return false;
    }
    // The first range whose end is past the probe's begin is the only candidate.
    let index = sorted.partition_point(|range| range.end <= probe.begin);
    sorted
        .get(index)
        .is_some_and(|range| range.begin < probe.end)
}

/// `range` minus every range of `holes` (any order, may overlap).
pub fn subtract(range: KeyRange, holes: &[KeyRange]) -> Vec<KeyRange> {
    let mut pieces = vec![range];
    for hole in holes {
        let mut next = Vec::with_capacity(pieces.len() + 1);
        for piece in pieces {
            if !piece.intersects(hole) {
                next.push(piece);
                continue;
            }
            if piece.begin < hole.begin {
                next.push(KeyRange::new(piece.begin.clone(), hole.begin.clone()));
            }
            if hole.end < piece.end {
                next.push(KeyRange::new(hole.end.clone(), piece.end));
            }
        }
        pieces = next;
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(begin: &str, end: &str) -> KeyRange {
        KeyRange::new(begin.as_bytes(), end.as_bytes())
    }

    #[test]
    fn coalesce_merges_overlaps_and_touching() {
        let merged = coalesce(vec![r("d", "f"), r("a", "c"), r("b", "d"), r("x", "x")]);
        assert_eq!(merged, vec![r("a", "f")]);
    }

    #[test]
    fn subtract_splits() {
        assert_eq!(
            subtract(r("a", "z"), &[r("c", "e")]),
            vec![r("a", "c"), r("e", "z")]
        );
        assert!(subtract(r("c", "d"), &[r("a", "z")]).is_empty());
    }

    fn key() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(0u8..4, 0..3)
    }

    proptest! {
        #[test]
        fn any_intersects_agrees_with_brute_force(
            ranges in prop::collection::vec((key(), key()), 0..6),
            probe in (key(), key()),
        ) {
            let ranges: Vec<KeyRange> = ranges.into_iter().map(|(a, b)| KeyRange::new(a, b)).collect();
            let probe = KeyRange::new(probe.0, probe.1);
            let brute = ranges.iter().any(|range| range.intersects(&probe));
            prop_assert_eq!(any_intersects(&coalesce(ranges), &probe), brute);
        }
    }
}
