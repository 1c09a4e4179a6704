//! Upload sessions (`driveitem-createuploadsession.md`): `createUploadSession` answers an
//! `uploadUrl` on the host the client used, which refuses the Authorization header. Fragments are
//! `PUT` with `Content-Range: bytes S-E/TOTAL`, in order, each a multiple of 320 KiB but the last,
//! with the same TOTAL each time; 202 with `nextExpectedRanges` until the last, which commits the
//! file (201 new, 200 replaced, 409 `nameAlreadyExists` under `fail`). A fragment that overlaps
//! or skips ahead is 416. `GET` tells the session's state, `DELETE` cancels it.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::address::ItemAddress;
use super::errors::GraphError;
use super::items::{parent_and_name, write_file};
use super::store::{random_id, Inner, Session};
use super::{host, GraphFake};

/// Every fragment but the last is a multiple of this.
pub const FRAGMENT_MULTIPLE: u64 = 327_680;

pub fn create(inner: &mut Inner, at: &ItemAddress, body: &[u8], host: &str) -> Result<Response, GraphError> {
    let request: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| GraphError::bad_request(format!("Invalid JSON: {e}")))?
    };
    let item = request.get("item").cloned().unwrap_or_default();
    let behavior = item
        .get("@microsoft.graph.conflictBehavior")
        .or_else(|| item.get("@name.conflictBehavior"))
        .and_then(Value::as_str)
        .unwrap_or("replace")
        .to_string();
    let drive = inner.drive(&at.drive).ok_or_else(|| GraphError::not_found(&at.drive))?;
    let (parent, name) = if at.path.is_empty() {
        // By id: new content for that file.
        let target = drive.resolve(&at.base).ok_or_else(|| GraphError::not_found(&at.base))?;
        (target.parent.clone().unwrap_or_default(), target.name.clone())
    } else {
        parent_and_name(drive, at)?
    };
    let expires = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let id = random_id(48);
    inner.sessions.insert(
        id.clone(),
        Session {
            drive: at.drive.clone(),
            parent,
            name,
            behavior,
            total: None,
            received: Vec::new(),
            expires: expires.clone(),
        },
    );
    Ok(Json(json!({
        "uploadUrl": format!("http://{host}/graph/upload/{id}"),
        "expirationDateTime": expires,
        "nextExpectedRanges": ["0-"],
    }))
    .into_response())
}

/// The upload URL: `PUT` a fragment, `GET` the state, `DELETE` to cancel.
pub async fn session_url(
    State(fake): State<GraphFake>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    if headers.contains_key(header::AUTHORIZATION) {
        return Err(GraphError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "The upload URL is pre-authenticated: send no Authorization header.",
        ));
    }
    let mut inner = fake.lock();
    let Some(session) = inner.sessions.get(&id) else { return Err(GraphError::not_found("upload session")) };
    match method {
        Method::GET => Ok(Json(state(session)).into_response()),
        Method::DELETE => {
            inner.sessions.remove(&id);
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Method::PUT => fragment(&mut inner, &id, &headers, &body, &host(&headers)),
        _ => Err(GraphError::new(StatusCode::METHOD_NOT_ALLOWED, "invalidRequest", "Method not allowed.")),
    }
}

fn state(session: &Session) -> Value {
    let next = session.received.len() as u64;
    let range = match session.total {
        Some(total) if total > next => format!("{next}-{}", total - 1),
        _ => format!("{next}-"),
    };
    json!({ "expirationDateTime": session.expires, "nextExpectedRanges": [range] })
}

/// `bytes S-E/TOTAL`, inclusive.
fn content_range(headers: &HeaderMap) -> Option<(u64, u64, u64)> {
    let spec = headers.get(header::CONTENT_RANGE)?.to_str().ok()?.trim().strip_prefix("bytes ")?;
    let (range, total) = spec.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let (start, end, total) = (start.trim().parse().ok()?, end.trim().parse().ok()?, total.trim().parse().ok()?);
    (start <= end && end < total).then_some((start, end, total))
}

fn fragment(inner: &mut Inner, id: &str, headers: &HeaderMap, body: &[u8], host: &str) -> Result<Response, GraphError> {
    let bad = |m: &str| GraphError::invalid_range(StatusCode::BAD_REQUEST, m);
    if inner.faults.take_session_expiry() {
        inner.sessions.clear();
    }
    let Some(session) = inner.sessions.get_mut(id) else { return Err(GraphError::not_found("upload session")) };
    let (start, end, total) = content_range(headers).ok_or_else(|| bad("Invalid Content-Range header."))?;
    if body.len() as u64 != end - start + 1 {
        return Err(bad("The Content-Range does not match the length of the body."));
    }
    if session.total.is_some_and(|t| t != total) {
        return Err(bad("The declared total size differs from an earlier fragment's."));
    }
    let received = session.received.len() as u64;
    if start != received {
        return Err(GraphError::invalid_range(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "The uploaded fragment overlaps with data that has already been received, or skips ahead.",
        ));
    }
    let last = end + 1 == total;
    if !last && !(body.len() as u64).is_multiple_of(FRAGMENT_MULTIPLE) {
        return Err(bad("Fragments other than the last must be a multiple of 320 KiB."));
    }
    session.total = Some(total);
    session.received.extend_from_slice(body);
    if !last {
        return Ok((StatusCode::ACCEPTED, Json(state(session))).into_response());
    }
    let Some(session) = inner.sessions.remove(id) else { return Err(GraphError::not_found("upload session")) };
    let drive = inner.drive_mut(&session.drive).ok_or_else(|| GraphError::not_found(&session.drive))?;
    if drive.resolve(&session.parent).is_none() {
        return Err(GraphError::not_found("the upload's folder"));
    }
    let (status, item_id) =
        write_file(drive, &session.parent, &session.name, &session.behavior, session.received.into())?;
    let item = drive.items.get(&item_id).ok_or_else(|| GraphError::not_found(&item_id))?;
    Ok((status, Json(drive.item_json(item, host))).into_response())
}
