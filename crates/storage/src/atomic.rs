//! FDB's atomic mutations, byte for byte, for the embedded backend's commit thread.
//!
//! Each function mirrors the function of the same name in FDB's `fdbclient/Atomic.h`, including
//! its edge cases (empty operands, differing widths, absent values). `None` means the key is
//! absent (or, as a result, cleared).

use crate::keys::MAX_VALUE_BYTES;
use crate::kv::AtomicOp;

/// Applies a value-transforming atomic op to the current value of a key.
///
/// Versionstamp ops are not value transforms and are handled by the caller.
pub fn apply(op: AtomicOp, existing: Option<&[u8]>, param: &[u8]) -> Option<Vec<u8>> {
    match op {
        AtomicOp::Add => Some(add(existing, param)),
        AtomicOp::BitAnd => Some(bit_and(existing, param)),
        AtomicOp::BitOr => Some(bit_or_xor(existing, param, |a, b| a | b)),
        AtomicOp::BitXor => Some(bit_or_xor(existing, param, |a, b| a ^ b)),
        AtomicOp::AppendIfFits => Some(append_if_fits(existing, param)),
        AtomicOp::Max => Some(max(existing, param)),
        AtomicOp::Min => Some(min(existing, param)),
        AtomicOp::ByteMax => Some(byte_max(existing, param)),
        AtomicOp::ByteMin => Some(byte_min(existing, param)),
        AtomicOp::CompareAndClear => compare_and_clear(existing, param),
        AtomicOp::SetVersionstampedKey | AtomicOp::SetVersionstampedValue => {
            debug_assert!(false, "versionstamp ops are applied by the commit path");
            existing.map(<[u8]>::to_vec)
        }
    }
}

/// `existing` truncated or zero-extended to `width` bytes.
fn resized(existing: &[u8], width: usize) -> Vec<u8> {
    let mut out = vec![0u8; width];
    let shared = existing.len().min(width);
    out[..shared].copy_from_slice(&existing[..shared]);
    out
}

fn add(existing: Option<&[u8]>, param: &[u8]) -> Vec<u8> {
    let existing = existing.unwrap_or_default();
    if existing.is_empty() || param.is_empty() {
        return param.to_vec();
    }
    let mut out = Vec::with_capacity(param.len());
    let mut carry = 0u16;
    for (index, byte) in param.iter().enumerate() {
        let current = existing.get(index).copied().unwrap_or(0);
        let sum = u16::from(current) + u16::from(*byte) + carry;
        out.push(sum as u8);
        carry = sum >> 8;
    }
    out
}

fn bit_and(existing: Option<&[u8]>, param: &[u8]) -> Vec<u8> {
    let Some(existing) = existing else {
        return param.to_vec();
    };
    let mut out = resized(existing, param.len());
    for (byte, operand) in out.iter_mut().zip(param) {
        *byte &= operand;
    }
    out
}

fn bit_or_xor(existing: Option<&[u8]>, param: &[u8], combine: fn(u8, u8) -> u8) -> Vec<u8> {
    let existing = existing.unwrap_or_default();
    param
        .iter()
        .enumerate()
        .map(|(index, operand)| combine(existing.get(index).copied().unwrap_or(0), *operand))
        .collect()
}

fn append_if_fits(existing: Option<&[u8]>, param: &[u8]) -> Vec<u8> {
    let existing = existing.unwrap_or_default();
    if existing.is_empty() {
        return param.to_vec();
    }
    if existing.len() + param.len() > MAX_VALUE_BYTES {
        return existing.to_vec();
    }
    [existing, param].concat()
}

/// Compares `param` with `existing` as unsigned little-endian integers of `param`'s width.
fn compare_le(existing: &[u8], param: &[u8]) -> std::cmp::Ordering {
    let comparable = resized(existing, param.len());
    comparable.iter().rev().cmp(param.iter().rev())
}

fn max(existing: Option<&[u8]>, param: &[u8]) -> Vec<u8> {
    let existing = existing.unwrap_or_default();
    if existing.is_empty() || param.is_empty() {
        return param.to_vec();
    }
    if compare_le(existing, param).is_gt() {
        resized(existing, param.len())
    } else {
        param.to_vec()
    }
}

fn min(existing: Option<&[u8]>, param: &[u8]) -> Vec<u8> {
    let Some(existing) = existing else {
        return param.to_vec();
    };
    if param.is_empty() {
        return Vec::new();
    }
    if compare_le(existing, param).is_lt() {
        resized(existing, param.len())
    } else {
        param.to_vec()
    }
}

fn byte_max(existing: Option<&[u8]>, param: &[u8]) -> Vec<u8> {
    match existing {
        Some(existing) if existing > param => existing.to_vec(),
        _ => param.to_vec(),
    }
}

fn byte_min(existing: Option<&[u8]>, param: &[u8]) -> Vec<u8> {
    match existing {
        Some(existing) if existing < param => existing.to_vec(),
        _ => param.to_vec(),
    }
}

fn compare_and_clear(existing: Option<&[u8]>, param: &[u8]) -> Option<Vec<u8>> {
    match existing {
        Some(existing) if existing == param => None,
        other => other.map(<[u8]>::to_vec),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le(value: u64, width: usize) -> Vec<u8> {
        value.to_le_bytes()[..width].to_vec()
    }

    #[test]
    fn add_follows_fdb_width_rules() {
        assert_eq!(apply(AtomicOp::Add, None, &le(5, 8)), Some(le(5, 8)));
        assert_eq!(
            apply(AtomicOp::Add, Some(&le(7, 8)), &le(5, 8)),
            Some(le(12, 8))
        );
        // A shorter existing value is zero-extended; overflow wraps at the operand's width.
        assert_eq!(
            apply(AtomicOp::Add, Some(&[0xff]), &[1, 0]),
            Some(vec![0, 1])
        );
        assert_eq!(
            apply(AtomicOp::Add, Some(&[0xff, 0xff]), &[1]),
            Some(vec![0])
        );
        // Subtraction is addition of the two's complement.
        assert_eq!(
            apply(AtomicOp::Add, Some(&le(10, 8)), &(-3i64).to_le_bytes()),
            Some(le(7, 8))
        );
    }

    #[test]
    fn max_and_min_compare_unsigned_little_endian() {
        assert_eq!(
            apply(AtomicOp::Max, Some(&le(300, 2)), &le(2, 2)),
            Some(le(300, 2))
        );
        assert_eq!(
            apply(AtomicOp::Max, Some(&le(2, 2)), &le(300, 2)),
            Some(le(300, 2))
        );
        assert_eq!(apply(AtomicOp::Max, None, &le(9, 4)), Some(le(9, 4)));
        assert_eq!(apply(AtomicOp::Min, None, &le(9, 4)), Some(le(9, 4)));
        assert_eq!(
            apply(AtomicOp::Min, Some(&le(3, 4)), &le(9, 4)),
            Some(le(3, 4))
        );
        // The existing value is truncated to the operand's width before comparing.
        assert_eq!(
            apply(AtomicOp::Max, Some(&[1, 0, 9]), &[2, 0]),
            Some(vec![2, 0])
        );
        assert_eq!(apply(AtomicOp::Min, Some(&[1]), &[0, 1]), Some(vec![1, 0]));
    }

    #[test]
    fn byte_ops_compare_lexicographically() {
        assert_eq!(
            apply(AtomicOp::ByteMax, Some(b"b"), b"ab"),
            Some(b"b".to_vec())
        );
        assert_eq!(
            apply(AtomicOp::ByteMin, Some(b"b"), b"ab"),
            Some(b"ab".to_vec())
        );
        assert_eq!(apply(AtomicOp::ByteMin, None, b"zz"), Some(b"zz".to_vec()));
    }

    #[test]
    fn bitwise_ops() {
        assert_eq!(apply(AtomicOp::BitAnd, None, &[0x0f]), Some(vec![0x0f]));
        assert_eq!(
            apply(AtomicOp::BitAnd, Some(&[0x3c, 0xff]), &[0x0f]),
            Some(vec![0x0c])
        );
        assert_eq!(
            apply(AtomicOp::BitOr, Some(&[0x30]), &[0x0f, 1]),
            Some(vec![0x3f, 1])
        );
        assert_eq!(
            apply(AtomicOp::BitXor, Some(&[0xff]), &[0x0f]),
            Some(vec![0xf0])
        );
        assert_eq!(apply(AtomicOp::BitXor, None, &[0x0f]), Some(vec![0x0f]));
    }

    #[test]
    fn append_if_fits_is_silent_when_full() {
        assert_eq!(
            apply(AtomicOp::AppendIfFits, Some(b"ab"), b"cd"),
            Some(b"abcd".to_vec())
        );
        let full = vec![1u8; MAX_VALUE_BYTES];
        assert_eq!(
            apply(AtomicOp::AppendIfFits, Some(&full), b"x"),
            Some(full.clone())
        );
    }

    #[test]
    fn compare_and_clear_only_on_equal() {
        assert_eq!(apply(AtomicOp::CompareAndClear, Some(b"v"), b"v"), None);
        assert_eq!(
            apply(AtomicOp::CompareAndClear, Some(b"v"), b"w"),
            Some(b"v".to_vec())
        );
        assert_eq!(apply(AtomicOp::CompareAndClear, None, b"v"), None);
    }
}
