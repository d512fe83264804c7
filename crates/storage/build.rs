//! With the `fdb` feature, links `libfdb_c` from `TIDEMARK_FDB_LIB_DIR` when it is set (a
//! FoundationDB client library outside the system's library path, as CI's is), without
//! changing `RUSTFLAGS` for every crate of the build.

fn main() {
    println!("cargo:rerun-if-env-changed=TIDEMARK_FDB_LIB_DIR");
    if std::env::var_os("CARGO_FEATURE_FDB").is_none() {
        return;
    }
    if let Some(dir) = std::env::var_os("TIDEMARK_FDB_LIB_DIR") {
        println!("cargo:rustc-link-search=native={}", dir.to_string_lossy());
    }
}
