//! Blocks are read back from storage that could be corrupt: decoding never panics, and whatever
//! decodes re-encodes to something that decodes to the same block.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidemark_storage::block::Block;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(block) = Block::decode(bytes) {
        let again = Block::decode(&block.encode()).expect("re-encoded block decodes");
        assert_eq!(again.rows(), block.rows());
    }
});
