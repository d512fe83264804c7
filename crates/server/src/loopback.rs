//! The guard of a server without tokens.
//!
//! Without tokens, the server trusts whoever can reach it, which is meant to be this machine
//! only (it listens on loopback). Two kinds of request would cross that line: a page in a
//! browser on this machine posting to the write or tiering endpoints (a "simple" cross-origin
//! POST needs no preflight), and DNS rebinding, where an attacker's host name resolves to
//! 127.0.0.1 and the browser reads the answers. So without tokens a request must name a
//! loopback host, and a browser request must come from a loopback origin.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tidemark_storage::KvDatabase;

use crate::api_error::{ApiError, ErrorKind};
use crate::state::AppState;

/// True for `localhost`, `*.localhost`, and loopback addresses, with or without a port.
pub fn is_loopback_host(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        // `[::1]:8181`
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => match authority.rsplit_once(':') {
            // A bare IPv6 address has several colons; `host:port` has one.
            Some((host, port))
                if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) =>
            {
                host
            }
            _ => authority,
        },
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Why a request may not pass without a token, if it may not.
pub fn refusal(headers: &HeaderMap, authority: Option<&str>) -> Option<String> {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or(authority)
        .unwrap_or_default();
    if !is_loopback_host(host) {
        return Some(format!(
            "this server has no tokens, so it answers only requests to a loopback host; {host:?} \
             is not one (create a token to serve other hosts)"
        ));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        let authority = origin
            .split_once("://")
            .map_or(origin, |(_, rest)| rest)
            .split('/')
            .next()
            .unwrap_or_default();
        if origin != "null" && is_loopback_host(authority) {
            return None;
        }
        return Some(format!(
            "this server has no tokens, so it refuses requests from web pages of other origins \
             ({origin:?})"
        ));
    }
    let cross_site = headers
        .get("sec-fetch-site")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|site| site.eq_ignore_ascii_case("cross-site"));
    cross_site.then(|| {
        "this server has no tokens, so it refuses cross-site requests from web pages".to_owned()
    })
}

/// Middleware: without tokens, refuse requests that did not come from this machine.
pub async fn guard<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    request: Request,
    next: Next,
) -> Response {
    let open = match state.auth.required().await {
        Ok(required) => !required,
        Err(error) => return ApiError::from(error).into_response(),
    };
    if open
        && let Some(message) = refusal(
            request.headers(),
            request.uri().authority().map(|a| a.as_str()),
        )
    {
        metrics::counter!("tidemark_limit_refusals_total", "limit" => "loopback_only").increment(1);
        return ApiError::new(ErrorKind::PermissionDenied, message).into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn only_loopback_hosts_and_origins_pass() {
        for host in [
            "localhost",
            "localhost:8181",
            "127.0.0.1:8181",
            "127.3.2.1",
            "[::1]:8181",
            "::1",
            "grafana.localhost:3000",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example:8181",
            "10.0.0.1",
            "",
            "localhost.evil.example",
            "[2001:db8::1]:80",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
        assert!(refusal(&headers(&[("host", "127.0.0.1:8181")]), None).is_none());
        assert!(refusal(&headers(&[("host", "rebound.example:8181")]), None).is_some());
        let cross = headers(&[
            ("host", "127.0.0.1:8181"),
            ("origin", "https://evil.example"),
        ]);
        assert!(refusal(&cross, None).is_some());
        let same = headers(&[
            ("host", "127.0.0.1:8181"),
            ("origin", "http://localhost:8181"),
        ]);
        assert!(refusal(&same, None).is_none());
        let opaque = headers(&[("host", "127.0.0.1:8181"), ("origin", "null")]);
        assert!(refusal(&opaque, None).is_some());
        let fetch = headers(&[("host", "localhost"), ("sec-fetch-site", "cross-site")]);
        assert!(refusal(&fetch, None).is_some());
        assert!(
            refusal(&HeaderMap::new(), Some("127.0.0.1:1")).is_none(),
            "HTTP/2 :authority"
        );
    }
}
