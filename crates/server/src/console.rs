//! The built-in web console: `GET /` and `GET /console/<asset>` serve a single-page app that is
//! embedded in the binary (`crates/server/console/`, no build step, no CDN), and two small JSON
//! endpoints answer what no other API does cheaply: `GET /api/v0/console/databases` and
//! `GET /api/v0/console/cardinality` (see `cardinality`).
//!
//! The pages hold no data, so they need no token; everything they show comes from the public
//! APIs (SQL, the Prometheus HTTP API, `/metrics`, tier status, and the two endpoints here),
//! which check tokens as for any client. Every console response carries a strict Content
//! Security Policy (same-origin scripts, styles and requests only, no inline script, no
//! framing) and an ETag of its content, so a browser revalidates and gets 304 when unchanged.
//!
//! docs/console.md describes the pages and how the vendored chart library is refreshed.

mod assets;
mod cardinality;

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tidemark_storage::KvDatabase;

use crate::state::AppState;

/// The Content Security Policy of every console response: nothing but this origin, no inline
/// scripts or styles, no plugins, and no framing (clickjacking).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// Browsers revalidate every asset (a 304 is cheap) so a new binary's console is used at once.
const CACHE_CONTROL: &str = "no-cache";

/// The console's routes, merged into the server's router.
pub fn router<D: KvDatabase>() -> Router<Arc<AppState<D>>> {
    Router::new()
        .route("/", get(index))
        .route("/console/{*path}", get(asset))
        .route(
            "/api/v0/console/databases",
            get(cardinality::databases::<D>),
        )
        .route(
            "/api/v0/console/cardinality",
            get(cardinality::cardinality::<D>),
        )
}

/// `GET /`: the console's page.
async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

/// `GET /console/{path}`: one embedded asset.
async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

/// The response for the asset at `path` (relative to the console folder): the asset, 304 when
/// the client's `If-None-Match` names its ETag, or 404.
pub fn serve(path: &str, request: &HeaderMap) -> Response {
    let Some(asset) = assets::find(path) else {
        let mut response = (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("the console has no asset {path:?}\n"),
        )
            .into_response();
        secure(response.headers_mut());
        return response;
    };
    let etag = asset.etag();
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, asset.content_type())], asset.bytes).into_response()
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    secure(headers);
    response
}

/// Adds the security headers of every console response.
fn secure(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
}

#[cfg(test)]
mod tests;
