//! Enforcing the network policy: who the client is (its address, believing `X-Forwarded-For` only from
//! trusted proxies), whether it may use the box at all, and whether it may upload from where it is.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use shoebox_core::audit;
use shoebox_core::policy::{self, Refusal};

use crate::error::ApiError;
use crate::state::AppState;

/// The header in which clients report the Wi-Fi they are on.
pub const SSID_HEADER: &str = "shoebox-wifi-ssid";

/// The client's address as the policy judges it, put into every request's extensions.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

/// The client behind any trusted proxies. `X-Forwarded-For` is read from the right: each hop appended
/// the address it saw, so the first entry not itself a trusted proxy is the client. A header from an
/// untrusted peer, or one that does not parse, is ignored: anyone can write one.
pub fn client_addr(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    if !policy::contains(trusted_proxies, peer) {
        return peer;
    }
    let mut hops = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(text) = value.to_str() else { return peer };
        for hop in text.split(',') {
            match hop.trim().parse::<IpAddr>() {
                Ok(addr) => hops.push(addr.to_canonical()),
                Err(_) => return peer,
            }
        }
    }
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        client = hop;
        if !policy::contains(trusted_proxies, hop) {
            break;
        }
    }
    client
}

fn refused(refusal: &Refusal) -> Response {
    tracing::info!(code = refusal.code(), "{refusal}");
    ApiError::new(StatusCode::FORBIDDEN, refusal.code(), refusal.to_string()).into_response()
}

/// Outer middleware: works out the client's address and turns away clients outside the access policy.
pub async fn enforce_access(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let Some(peer) = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ci| ci.0.ip()) else {
        // Only in-process callers (tests of the router) arrive without a socket.
        return next.run(request).await;
    };
    let addr = client_addr(peer, request.headers(), &state.settings.trusted_proxies);
    if let Err(refusal) = state.policy().check_access(addr) {
        state.stats.count_refused_access();
        return refused(&refusal);
    }
    request.extensions_mut().insert(ClientAddr(addr));
    next.run(request).await
}

/// Middleware of the upload routes and WebDAV: a request that brings bytes (POST, PATCH, PUT) must come
/// from an allowed network and Wi-Fi. Refusals are counted and written to the audit log.
pub async fn enforce_upload(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !matches!(*request.method(), Method::POST | Method::PATCH | Method::PUT) {
        return next.run(request).await;
    }
    let Some(ClientAddr(addr)) = request.extensions().get::<ClientAddr>().copied() else {
        return next.run(request).await;
    };
    let ssid = match request.headers().get(SSID_HEADER).map(|v| std::str::from_utf8(v.as_bytes())) {
        None => None,
        Some(Ok(ssid)) => Some(ssid.trim().to_string()),
        Some(Err(_)) => {
            return ApiError::bad_request("the Shoebox-Wifi-SSID header must be UTF-8").into_response();
        }
    };
    if let Err(refusal) = state.policy().check_upload(addr, ssid.as_deref()) {
        state.stats.count_refused_upload();
        let (action, detail) = ("upload.refused", Some(refusal.to_string()));
        let target = request.uri().path().to_string();
        let remote_addr = Some(addr.to_string());
        let recorded = state
            .db(move |cat| {
                cat.write(|tx| {
                    audit::record(
                        tx,
                        &audit::Entry { action, target: Some(target), detail, remote_addr, ..Default::default() },
                    )
                })
            })
            .await;
        if let Err(e) = recorded {
            tracing::warn!(code = e.code, "could not write the refused upload to the audit log");
        }
        return refused(&refusal);
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.2/32".parse().unwrap()];
        assert_eq!(client_addr(ip("8.8.8.8"), &xff("192.168.1.5"), &trusted), ip("8.8.8.8"), "forged");
        assert_eq!(client_addr(ip("10.0.0.2"), &xff("192.168.1.5"), &trusted), ip("192.168.1.5"));
        assert_eq!(client_addr(ip("10.0.0.2"), &HeaderMap::new(), &trusted), ip("10.0.0.2"));
    }

    #[test]
    fn forwarded_for_is_read_from_the_right() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/24".parse().unwrap()];
        // The client forged the leftmost entry; the proxy appended what it really saw.
        assert_eq!(client_addr(ip("10.0.0.2"), &xff("192.168.1.5, 8.8.4.4"), &trusted), ip("8.8.4.4"));
        // Two trusted proxies in a row.
        assert_eq!(client_addr(ip("10.0.0.2"), &xff("192.168.1.5, 10.0.0.3"), &trusted), ip("192.168.1.5"));
        assert_eq!(client_addr(ip("10.0.0.2"), &xff("garbage"), &trusted), ip("10.0.0.2"));
    }
}
