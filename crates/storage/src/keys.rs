//! Key encoding: FDB's tuple layer under one root subspace, and byte-level key helpers.
//!
//! Both backends store exactly these bytes, so key order, range reads and versionstamped keys
//! are identical on FDB and on the embedded backend.

pub use foundationdb_tuple::{
    Bytes, Element, PackError, PackResult, Subspace, TuplePack, TupleUnpack, Versionstamp, pack,
    pack_with_versionstamp, unpack,
};

/// The largest key FDB accepts outside the system keyspace.
pub const MAX_KEY_BYTES: usize = 10_000;
/// The largest value FDB accepts.
pub const MAX_VALUE_BYTES: usize = 100_000;
/// FDB's default limit on a transaction's affected data.
pub const MAX_TRANSACTION_BYTES: u64 = 10_000_000;
/// First key of FDB's system keyspace; user keys must sort below it.
pub const SYSTEM_KEYSPACE_BEGIN: &[u8] = b"\xff";

/// The name of the default root subspace.
pub const DEFAULT_ROOT: &str = "tm";

/// The root subspace every Tidemark key lives under: the tuple `("tm",)`.
pub fn root() -> Subspace {
    named_root(DEFAULT_ROOT)
}

/// The root subspace `(name,)`: deployments (or tests) sharing one FDB cluster each use their
/// own name, and nothing of one is inside another's ranges.
pub fn named_root(name: &str) -> Subspace {
    Subspace::all().subspace(&(name,))
}

/// The first key after `key` in byte order: `key + \x00`.
pub fn key_after(key: &[u8]) -> Vec<u8> {
    let mut next = Vec::with_capacity(key.len() + 1);
    next.extend_from_slice(key);
    next.push(0);
    next
}

/// The first key after every key that starts with `prefix` (FDB's `strinc`), or `None` when the
/// prefix is empty or all `\xff`.
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let last_incrementable = prefix.iter().rposition(|byte| *byte != 0xff)?;
    let mut end = prefix[..=last_incrementable].to_vec();
    end[last_incrementable] += 1;
    Some(end)
}

/// The `[begin, end)` range of every key starting with `prefix`.
pub fn prefix_range(prefix: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let end = prefix_end(prefix).unwrap_or_else(|| SYSTEM_KEYSPACE_BEGIN.to_vec());
    (prefix.to_vec(), end)
}

/// Splits a versionstamped key or value parameter into its bytes and the stamp offset.
///
/// The last 4 bytes are a little-endian `u32` offset; the 10 bytes at that offset are replaced
/// at commit. Returns `None` when the parameter is malformed (FDB's `client_invalid_operation`).
pub fn split_versionstamp_param(param: &[u8]) -> Option<(&[u8], usize)> {
    let body_len = param.len().checked_sub(4)?;
    let (body, offset_bytes) = param.split_at(body_len);
    let offset = u32::from_le_bytes(offset_bytes.try_into().ok()?) as usize;
    (offset.checked_add(10)? <= body.len()).then_some((body, offset))
}

/// Writes `stamp` into a copy of a versionstamped parameter's body.
pub fn fill_versionstamp(param: &[u8], stamp: &[u8; 10]) -> Option<Vec<u8>> {
    let (body, offset) = split_versionstamp_param(param)?;
    let mut filled = body.to_vec();
    filled[offset..offset + 10].copy_from_slice(stamp);
    Some(filled)
}

/// The write-conflict range FDB records for a versionstamped key (`getVersionstampKeyRange`):
/// from the key stamped with `(read_version + 1, 0)` to the key stamped with `\xff` × 10, plus
/// `\x00`. Readers of a log tail therefore conflict with concurrent appenders.
pub fn versionstamp_key_conflict_range(
    param: &[u8],
    read_version: i64,
) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut lowest = [0u8; 10];
    lowest[..8].copy_from_slice(&read_version.saturating_add(1).to_be_bytes());
    let begin = fill_versionstamp(param, &lowest)?;
    let mut end = fill_versionstamp(param, &[0xff; 10])?;
    end.push(0);
    Some((begin, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuple_bytes_match_fdb_python() {
        // The reference bytes come from Python `fdb.tuple.pack` (fdb 8.0.0).
        let packed = pack(&("series", 42i64, -1i64, 1.5f64));
        assert_eq!(
            packed,
            b"\x02series\x00\x15\x2a\x13\xfe\x21\xbf\xf8\x00\x00\x00\x00\x00\x00"
        );
        let stamped = pack_with_versionstamp(&("log", 3i64, Versionstamp::incomplete(7)));
        let mut expected = b"\x02log\x00\x15\x03\x33".to_vec();
        expected.extend([0xff; 10]);
        expected.extend([0x00, 0x07, 0x08, 0x00, 0x00, 0x00]);
        assert_eq!(stamped, expected);
        assert_eq!(
            split_versionstamp_param(&stamped).map(|(_, at)| at),
            Some(8)
        );
    }

    #[test]
    fn prefix_end_is_strinc() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(b"a\xff\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff"), None);
        assert_eq!(prefix_end(b""), None);
    }

    #[test]
    fn malformed_versionstamp_params_are_rejected() {
        assert!(split_versionstamp_param(b"abc").is_none());
        let mut too_far = vec![0u8; 12];
        too_far.extend(3u32.to_le_bytes());
        assert!(split_versionstamp_param(&too_far).is_none());
        let mut fits = vec![0u8; 12];
        fits.extend(2u32.to_le_bytes());
        assert_eq!(split_versionstamp_param(&fits).map(|(_, at)| at), Some(2));
    }
}
