use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};

use super::assets::{self, ASSETS};
use super::cardinality::tag_json;
use super::{CONTENT_SECURITY_POLICY, serve};

fn console_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("console")
}

fn files_under(dir: &Path, root: &Path, found: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, root, found);
        } else {
            let relative = path.strip_prefix(root).unwrap().to_string_lossy();
            found.insert(relative.replace('\\', "/"));
        }
    }
}

fn header(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(&name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

#[test]
fn every_console_file_is_embedded_and_nothing_else() {
    let dir = console_dir();
    let mut on_disk = BTreeSet::new();
    files_under(&dir, &dir, &mut on_disk);
    on_disk.remove("vendor.sh");
    let embedded: BTreeSet<String> = ASSETS.iter().map(|asset| asset.path.to_owned()).collect();
    assert_eq!(embedded, on_disk);
    for asset in ASSETS {
        assert_eq!(asset.hash, assets::fnv1a(asset.bytes), "{}", asset.path);
        assert!(!asset.bytes.is_empty(), "{}", asset.path);
    }
}

#[test]
fn assets_have_their_content_types() {
    let cases = [
        ("index.html", "text/html; charset=utf-8"),
        ("js/app.js", "text/javascript; charset=utf-8"),
        ("console.css", "text/css; charset=utf-8"),
        ("vendor/uPlot.iife.min.js", "text/javascript; charset=utf-8"),
        ("vendor/uPlot.min.css", "text/css; charset=utf-8"),
        ("favicon.svg", "image/svg+xml"),
        ("vendor/uPlot.LICENSE.txt", "text/plain; charset=utf-8"),
    ];
    for (path, expected) in cases {
        let response = serve(path, &HeaderMap::new());
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            header(response.headers(), header::CONTENT_TYPE),
            expected,
            "{path}"
        );
    }
    assert_eq!(
        assets::content_type("x.unknown"),
        "application/octet-stream"
    );
}

#[test]
fn unknown_assets_are_404_with_the_security_headers() {
    for path in [
        "nope.js",
        "../Cargo.toml",
        "js/../../src/lib.rs",
        "",
        "js",
        "vendor.sh",
    ] {
        let response = serve(path, &HeaderMap::new());
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path:?}");
        assert_eq!(
            header(response.headers(), header::CONTENT_SECURITY_POLICY),
            CONTENT_SECURITY_POLICY
        );
        assert_eq!(
            header(response.headers(), header::X_CONTENT_TYPE_OPTIONS),
            "nosniff"
        );
    }
}

#[test]
fn responses_carry_security_and_cache_headers() {
    let response = serve("index.html", &HeaderMap::new());
    let headers = response.headers();
    let policy = header(headers, header::CONTENT_SECURITY_POLICY);
    assert!(policy.starts_with("default-src 'self'"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert!(!policy.contains("unsafe-eval"), "{policy}");
    assert_eq!(header(headers, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(header(headers, header::X_FRAME_OPTIONS), "DENY");
    assert_eq!(header(headers, header::REFERRER_POLICY), "no-referrer");
    assert_eq!(header(headers, header::CACHE_CONTROL), "no-cache");
    let etag = header(headers, header::ETAG);
    assert_eq!(etag, assets::find("index.html").unwrap().etag());
    assert!(etag.starts_with('"') && etag.ends_with('"') && etag.len() == 18);
}

#[test]
fn a_matching_if_none_match_gets_304() {
    let etag = assets::find("js/app.js").unwrap().etag();
    for presented in [etag.clone(), format!("\"other\", {etag}"), "*".to_owned()] {
        let mut request = HeaderMap::new();
        request.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&presented).unwrap(),
        );
        let response = serve("js/app.js", &request);
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{presented}");
        assert_eq!(header(response.headers(), header::ETAG), etag);
        assert!(
            response
                .headers()
                .contains_key(header::CONTENT_SECURITY_POLICY)
        );
    }
    let mut stale = HeaderMap::new();
    stale.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"0\""));
    assert_eq!(serve("js/app.js", &stale).status(), StatusCode::OK);
}

#[test]
fn etags_differ_between_assets() {
    let tags: BTreeSet<String> = ASSETS.iter().map(|asset| asset.etag()).collect();
    assert_eq!(tags.len(), ASSETS.len());
}

/// The policy forbids inline scripts and styles: the page must not need them, and our own
/// scripts must not build markup from strings (which would also let data become markup).
#[test]
fn the_page_needs_no_inline_script_or_style() {
    let index = std::str::from_utf8(assets::find("index.html").unwrap().bytes).unwrap();
    for (at, _) in index.match_indices("<script") {
        let tag = &index[at..at + index[at..].find('>').unwrap()];
        assert!(tag.contains(" src="), "inline script: {tag}");
    }
    assert!(!index.contains(" style="), "inline style attribute");
    assert!(!index.contains("<style"), "inline style element");
    for (at, _) in index.match_indices(" on") {
        let name: String = index[at + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        let after = index[at + 1 + name.len()..].chars().next();
        assert!(after != Some('='), "inline event handler {name}");
    }
    for asset in ASSETS.iter().filter(|asset| asset.path.starts_with("js/")) {
        let text = std::str::from_utf8(asset.bytes).unwrap();
        for banned in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "eval(",
            "new Function",
            "document.write",
        ] {
            assert!(!text.contains(banned), "{} uses {banned}", asset.path);
        }
    }
    // Every asset the page names is embedded.
    for reference in index.split("\"/console/").skip(1) {
        let path = &reference[..reference.find('"').unwrap()];
        assert!(assets::find(path).is_some(), "index.html names {path}");
    }
}

#[test]
fn tag_values_are_ranked_by_series_then_value() {
    let values = HashMap::from([
        ("b".to_owned(), 3),
        ("a".to_owned(), 3),
        ("c".to_owned(), 7),
        ("d".to_owned(), 1),
    ]);
    let json = tag_json("host", values, 3);
    assert_eq!(json["key"], "host");
    assert_eq!(json["values"], 4);
    assert_eq!(json["series"], 14);
    let top: Vec<(String, u64)> = json["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["value"].as_str().unwrap().to_owned(),
                entry["series"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        top,
        vec![
            ("c".to_owned(), 7),
            ("a".to_owned(), 3),
            ("b".to_owned(), 3)
        ]
    );
    assert_eq!(
        tag_json("k", HashMap::new(), 10)["top"],
        serde_json::json!([])
    );
}
