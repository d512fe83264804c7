//! The console's files, embedded at compile time from `crates/server/console/`, each with the
//! content hash its ETag is made of (computed at compile time too).

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asset {
    /// Path under the console folder, as requested under `/console/`.
    pub(crate) path: &'static str,
    /// The file's bytes.
    pub(crate) bytes: &'static [u8],
    /// FNV-1a hash of the bytes.
    pub(crate) hash: u64,
}

impl Asset {
    /// The `Content-Type`, from the file's extension.
    pub(crate) fn content_type(&self) -> &'static str {
        content_type(self.path)
    }

    /// The strong ETag: the content hash, quoted.
    pub(crate) fn etag(&self) -> String {
        format!("\"{:016x}\"", self.hash)
    }
}

/// The `Content-Type` of a file name (`application/octet-stream` when unknown; with
/// `nosniff`, browsers then refuse to run it as a script or style).
pub(crate) fn content_type(path: &str) -> &'static str {
    let extension = path.rsplit_once('.').map_or("", |(_, extension)| extension);
    match extension {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// FNV-1a, 64 bits: small enough to run at compile time over every asset.
pub(crate) const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut index = 0;
    while index < bytes.len() {
        hash ^= bytes[index] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        index += 1;
    }
    hash
}

/// An [`Asset`] for a file under `crates/server/console/`.
macro_rules! asset {
    ($path:literal) => {{
        const BYTES: &[u8] =
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/console/", $path));
        Asset {
            path: $path,
            bytes: BYTES,
            hash: fnv1a(BYTES),
        }
    }};
}

/// Every file the console serves. A unit test checks that every file of the folder (but the
/// vendoring script) is listed here.
pub(crate) static ASSETS: &[Asset] = &[
    asset!("index.html"),
    asset!("console.css"),
    asset!("favicon.svg"),
    asset!("js/api.js"),
    asset!("js/app.js"),
    asset!("js/chart.js"),
    asset!("js/dom.js"),
    asset!("js/explorer.js"),
    asset!("js/languages.js"),
    asset!("js/prom-text.js"),
    asset!("js/schema.js"),
    asset!("js/status.js"),
    asset!("js/table.js"),
    asset!("js/timerange.js"),
    asset!("vendor/uPlot.LICENSE.txt"),
    asset!("vendor/uPlot.iife.min.js"),
    asset!("vendor/uPlot.min.css"),
];

/// The asset at `path`, if the console has one.
pub(crate) fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.path == path)
}
