//! Refusals made before dav-server sees a request: what the protocol engine would otherwise carry
//! out faithfully and disastrously.
//!
//! - `Depth: infinity` PROPFIND (RFC 4918 §9.1 allows refusing it: 403 `propfind-finite-depth`).
//! - A `Destination` on another host (§9.8.5, 502): dav-server would use only its path.
//! - DELETE, MOVE, COPY or LOCK of `/dav/` or a workspace's own folder: those are managed in the web
//!   app; a recursive DELETE there would delete a whole library file by file.
//! - MOVE or COPY onto itself, into itself or onto an ancestor: with `Overwrite: T`, dav-server
//!   deletes the destination first, which would take the source with it.
//! - LOCK by a viewer: a lock blocks everyone else's writes.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use dav_server::davpath::DavPath;
use shoebox_core::model::Role;

use super::fs::LibraryFs;
use super::DavCaller;

/// Checks that need no credentials.
pub fn before_auth(request: &Request) -> Option<Response> {
    refuse_infinite_propfind(request).or_else(|| refuse_foreign_destination(request))
}

/// What `after_auth` looks at, taken out of the request (which is not Sync, so cannot be held across
/// an await).
pub struct Facts {
    method: String,
    uri: axum::http::Uri,
    destination: Option<axum::http::Uri>,
}

impl Facts {
    pub fn of(request: &Request) -> Facts {
        Facts {
            method: request.method().as_str().to_string(),
            uri: request.uri().clone(),
            destination: destination(request),
        }
    }
}

/// Checks that need to know the caller.
pub async fn after_auth(facts: Facts, fs: &LibraryFs, caller: &DavCaller) -> Option<Response> {
    let Facts { method, uri, destination } = facts;
    if !matches!(method.as_str(), "DELETE" | "MOVE" | "COPY" | "LOCK") {
        return None;
    }
    let source = segments(&uri)?;
    if source.len() <= 1 && method != "COPY" {
        return Some(forbidden("the workspaces themselves are managed in the web app"));
    }
    if let Some(destination) = destination {
        let Some(destination) = segments(&destination) else {
            return Some((StatusCode::BAD_REQUEST, "the Destination is not a path under /dav/").into_response());
        };
        if destination.len() <= 1 {
            return Some(forbidden("the workspaces themselves are managed in the web app"));
        }
        if destination.starts_with(&source) || source.starts_with(&destination) {
            return Some(forbidden("the Destination is the source itself, inside it, or one of its folders"));
        }
    }
    if method == "LOCK" {
        let role = fs.role_in(&source[0], caller).await;
        if role.is_none_or(|r| r < Role::Contributor) {
            return Some(forbidden("locking needs the contributor role"));
        }
    }
    None
}

/// The decoded segments of a `/dav/...` path, without the `dav` itself.
fn segments(uri: &axum::http::Uri) -> Option<Vec<String>> {
    let path = DavPath::new(uri.path()).ok()?;
    let text = String::from_utf8(path.as_bytes().to_vec()).ok()?;
    let rest = text.strip_prefix("/dav")?;
    Some(rest.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect())
}

fn destination(request: &Request) -> Option<axum::http::Uri> {
    request.headers().get("destination")?.to_str().ok()?.parse().ok()
}

fn forbidden(message: &str) -> Response {
    (StatusCode::FORBIDDEN, message.to_string()).into_response()
}

fn refuse_foreign_destination(request: &Request) -> Option<Response> {
    let header = request.headers().get("destination")?;
    let Some(uri) = header.to_str().ok().and_then(|d| d.parse::<axum::http::Uri>().ok()) else {
        return Some((StatusCode::BAD_REQUEST, "the Destination header is not a URL").into_response());
    };
    let ours = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| request.uri().authority().map(|a| a.to_string()));
    match (uri.authority(), ours) {
        (Some(theirs), Some(ours)) if !same_host(theirs.as_str(), &ours, uri.scheme_str()) => {
            Some((StatusCode::BAD_GATEWAY, "the Destination is on another server").into_response())
        }
        _ => None,
    }
}

/// Host and port compared without case, a default port written or not.
fn same_host(a: &str, b: &str, scheme: Option<&str>) -> bool {
    let default = if scheme == Some("https") { ":443" } else { ":80" };
    let norm = |h: &str| {
        let h = h.to_ascii_lowercase();
        h.strip_suffix(default).map(str::to_string).unwrap_or(h)
    };
    norm(a) == norm(b)
}

fn refuse_infinite_propfind(request: &Request) -> Option<Response> {
    let infinite = request.headers().get("depth").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"infinity"));
    if request.method().as_str() != "PROPFIND" || !infinite {
        return None;
    }
    let body = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
                <D:error xmlns:D=\"DAV:\"><D:propfind-finite-depth/></D:error>\n";
    let mut response = (StatusCode::FORBIDDEN, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml; charset=utf-8"));
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_match_with_or_without_the_default_port() {
        assert!(same_host("Box.local:80", "box.local", Some("http")));
        assert!(same_host("127.0.0.1:8080", "127.0.0.1:8080", Some("http")));
        assert!(!same_host("127.0.0.1:8081", "127.0.0.1:8080", Some("http")));
        assert!(!same_host("elsewhere.example", "box.local", Some("http")));
    }

    #[test]
    fn segments_are_decoded_and_normalised() {
        let uri: axum::http::Uri = "http://h/dav/default/Trip%202023/a.jpg".parse().unwrap();
        assert_eq!(segments(&uri).unwrap(), vec!["default", "Trip 2023", "a.jpg"]);
        let root: axum::http::Uri = "/dav/".parse().unwrap();
        assert!(segments(&root).unwrap().is_empty());
        let dotted: axum::http::Uri = "/dav/default/Phone/../".parse().unwrap();
        assert_eq!(segments(&dotted).unwrap(), vec!["default"], "dot segments are resolved before judging");
    }
}
