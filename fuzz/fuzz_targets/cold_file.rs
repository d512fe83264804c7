//! Cold files come back from an object store that could hold anything (a damaged object, a
//! file another tool wrote at our path): opening and decoding never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidemark_storage::cold::ColdFileReader;
use tidemark_storage::tsdb::SeriesId;

fuzz_target!(|bytes: &[u8]| {
    let Ok(reader) = ColdFileReader::open(bytes.to_vec().into()) else {
        return;
    };
    let groups: Vec<usize> = (0..reader.row_groups()).collect();
    if let Ok(rows) = reader.decode(&groups, |_| true, true) {
        for series in [0, 1, u64::MAX] {
            let _ = rows.series_block(SeriesId(series), i64::MIN, i64::MAX);
            let _ = rows.series_slice(SeriesId(series), i64::MIN, i64::MAX);
        }
        let _ = rows.into_series();
    }
});
