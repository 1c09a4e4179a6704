//! `/upload/drive/v3/files`: multipart uploads (`multipart/related`: JSON metadata, then media),
//! simple media uploads, and resumable sessions, following Google's manage-uploads guide:
//! the session URI answers chunks with `308` and `Range: bytes=0-N` (no `Range` while nothing is
//! stored), or `200` with `X-HTTP-Status-Code-Override: 308` when the client sent
//! `X-GUploader-No-308: yes`; every chunk but the last is a multiple of 256 KiB; a chunk that
//! starts past the stored bytes is not stored and is answered with the current `Range`, so the
//! client resends from there; bytes already stored are ignored when a chunk overlaps them.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::errors::ApiError;
use super::fields::Selection;
use super::files::{apply_update, header_value, selection, FILE_DEFAULT};
use super::store::{random_token, resolve, Inner, Meta, Session};
use super::{DriveFake, Params};

/// Google's chunk granularity.
pub const CHUNK_MULTIPLE: usize = 256 * 1024;

pub async fn post(
    State(fake): State<DriveFake>,
    Query(params): Query<Params>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if params.contains_key("upload_id") {
        return Ok(chunk(&fake, &params, &headers, &body));
    }
    start(&fake, None, &params, &headers, &body)
}

/// The guide's verb for chunks; clients that use `POST` reach [`post`].
pub async fn put(
    State(fake): State<DriveFake>,
    Query(params): Query<Params>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !params.contains_key("upload_id") {
        return Err(ApiError::bad_request("PUT is only for a resumable session URI (upload_id)."));
    }
    Ok(chunk(&fake, &params, &headers, &body))
}

/// New content (and optionally metadata) for an existing file.
pub async fn patch(
    State(fake): State<DriveFake>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    start(&fake, Some(resolve(id)), &params, &headers, &body)
}

fn start(
    fake: &DriveFake,
    target: Option<String>,
    params: &Params,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let select = selection(params, FILE_DEFAULT)?;
    match params.get("uploadType").map(String::as_str) {
        Some("multipart") => {
            let (meta, media_type, bytes) = split_multipart(headers, body)?;
            store(fake, target, meta, &media_type, bytes, params, &select).map(|(_, r)| r)
        }
        Some("media") => {
            let media_type = content_type(headers).unwrap_or_else(|| "application/octet-stream".into());
            store(fake, target, Meta::default(), &media_type, body.to_vec(), params, &select).map(|(_, r)| r)
        }
        Some("resumable") => open_session(fake, target, params, headers, body),
        other => Err(ApiError::invalid("uploadType", format!("Invalid value for uploadType: {other:?}"))),
    }
}

/// Creates (200, as Drive answers a one-request upload) or updates a file with its content.
fn store(
    fake: &DriveFake,
    target: Option<String>,
    meta: Meta,
    media_type: &str,
    bytes: Vec<u8>,
    params: &Params,
    select: &Selection,
) -> Result<(String, Response), ApiError> {
    let mut inner = fake.lock();
    let id = write(&mut inner, target.as_deref(), meta, media_type, bytes, params)?;
    let value = inner.get(&id).map(|f| inner.file_json(f)).unwrap_or_default();
    Ok((id, Json(select.apply(&value)).into_response()))
}

fn write(
    inner: &mut Inner,
    target: Option<&str>,
    meta: Meta,
    media_type: &str,
    bytes: Vec<u8>,
    params: &Params,
) -> Result<String, ApiError> {
    match target {
        None => inner.create(&meta, Some(bytes), media_type),
        Some(id) => {
            apply_update(inner, id, &meta, params)?;
            if let Some(file) = inner.get_mut(id) {
                file.set_content(bytes, meta.modified_time.clone());
            }
            inner.record(id);
            Ok(id.to_string())
        }
    }
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// `multipart/related; boundary=B`: the metadata part, then the media part.
fn split_multipart(headers: &HeaderMap, body: &[u8]) -> Result<(Meta, String, Vec<u8>), ApiError> {
    let ct = content_type(headers).unwrap_or_default();
    let boundary = ct
        .to_ascii_lowercase()
        .starts_with("multipart/related")
        .then(|| ct.split(';').find_map(|p| p.trim().strip_prefix("boundary=")))
        .flatten()
        .map(|b| b.trim_matches('"').to_string())
        .ok_or_else(|| {
            ApiError::bad_request("Multipart uploads need Content-Type multipart/related with a boundary.")
        })?;
    let parts = parts(body, boundary.as_bytes());
    let [(_, metadata), (media_headers, media)] = parts.as_slice() else {
        return Err(ApiError::bad_request(format!(
            "Multipart body must have a metadata part and a media part, found {} parts.",
            parts.len()
        )));
    };
    let media_type = media_headers
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.trim().eq_ignore_ascii_case("content-type")))
        .map_or_else(|| "application/octet-stream".to_string(), |(_, v)| v.trim().to_string());
    Ok((Meta::from_body(metadata)?, media_type, media.clone()))
}

/// The parts between `--boundary` lines, each as (headers text, content).
fn parts(body: &[u8], boundary: &[u8]) -> Vec<(String, Vec<u8>)> {
    let delimiter = [b"--", boundary].concat();
    let mut out = Vec::new();
    let Some(mut at) = find(body, &delimiter, 0) else { return out };
    loop {
        at += delimiter.len();
        if body[at..].starts_with(b"--") {
            return out;
        }
        if body[at..].starts_with(b"\r\n") {
            at += 2;
        }
        let close = [b"\r\n", delimiter.as_slice()].concat();
        let Some(end) = find(body, &close, at) else { return out };
        let part = &body[at..end];
        let (head, content) = if part.starts_with(b"\r\n") {
            (&part[..0], &part[2..])
        } else {
            match find(part, b"\r\n\r\n", 0) {
                Some(split) => (&part[..split], &part[split + 4..]),
                None => (part, &part[part.len()..]),
            }
        };
        out.push((String::from_utf8_lossy(head).into_owned(), content.to_vec()));
        at = end + 2;
    }
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    memchr::memmem::find(haystack.get(from..)?, needle).map(|p| p + from)
}

fn open_session(
    fake: &DriveFake,
    target: Option<String>,
    params: &Params,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let mut meta = Meta::from_body(body)?;
    let declared_length = match headers.get("x-upload-content-length").map(|v| v.to_str().map(str::parse::<u64>)) {
        None => None,
        Some(Ok(Ok(n))) => Some(n),
        Some(_) => return Err(ApiError::bad_request("Invalid X-Upload-Content-Length.")),
    };
    if meta.mime_type.is_none() && target.is_none() {
        meta.mime_type = headers.get("x-upload-content-type").and_then(|v| v.to_str().ok()).map(str::to_string);
    }
    let mut inner = fake.lock();
    match &target {
        Some(id) if inner.get(id).is_none() => return Err(ApiError::not_found(id)),
        Some(_) => {}
        None => {
            let parents: Vec<String> = meta.parents.clone().unwrap_or_default().into_iter().map(resolve).collect();
            inner.check_parents(&parents)?;
        }
    }
    let upload_id = format!("ABPtcP{}", random_token(40));
    inner.sessions.insert(
        upload_id.clone(),
        Session { target, meta, declared_length, received: Vec::new(), params: params.clone(), done: None },
    );
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost");
    let location = format!("http://{host}/upload/drive/v3/files?uploadType=resumable&upload_id={upload_id}");
    let mut response = StatusCode::OK.into_response();
    response.headers_mut().insert(header::LOCATION, header_value(&location));
    response.headers_mut().insert("x-guploader-uploadid", header_value(&upload_id));
    Ok(response)
}

#[derive(Debug, PartialEq)]
enum ContentRange {
    /// `bytes */TOTAL` (or `*/*`): how much is stored?
    Query { total: Option<u64> },
    /// `bytes S-E/TOTAL` or `bytes S-E/*`, inclusive.
    Chunk { start: u64, end: u64, total: Option<u64> },
}

fn parse_content_range(headers: &HeaderMap, body_len: usize) -> Result<ContentRange, String> {
    let Some(value) = headers.get(header::CONTENT_RANGE) else {
        // No header: the body is the whole file (a one-request resumable upload).
        return Ok(match body_len {
            0 => ContentRange::Query { total: Some(0) },
            n => ContentRange::Chunk { start: 0, end: n as u64 - 1, total: Some(n as u64) },
        });
    };
    let bad = || format!("Invalid Content-Range: {value:?}");
    let spec = value.to_str().ok().and_then(|v| v.trim().strip_prefix("bytes ")).ok_or_else(bad)?;
    let (range, total) = spec.split_once('/').ok_or_else(bad)?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse::<u64>().map_err(|_| bad())?),
    };
    if range.trim() == "*" {
        return Ok(ContentRange::Query { total });
    }
    let (start, end) = range.split_once('-').ok_or_else(bad)?;
    let start = start.trim().parse::<u64>().map_err(|_| bad())?;
    let end = end.trim().parse::<u64>().map_err(|_| bad())?;
    if end < start {
        return Err(bad());
    }
    Ok(ContentRange::Chunk { start, end, total })
}

/// A request on a session URI: a chunk, or a status query.
fn chunk(fake: &DriveFake, params: &Params, headers: &HeaderMap, body: &[u8]) -> Response {
    let upload_id = params.get("upload_id").cloned().unwrap_or_default();
    let no_308 = headers.get("x-guploader-no-308").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"yes"));
    let mut inner = fake.lock();
    if inner.faults.take_session_expiry() {
        inner.sessions.clear();
    }
    let Some(session) = inner.sessions.get_mut(&upload_id) else {
        return ApiError::new(StatusCode::NOT_FOUND, "notFound", "The upload session does not exist or has expired.")
            .into_response();
    };
    if let Some((status, id)) = session.done.clone() {
        return finished(&inner, &upload_id, status, &id);
    }
    let range = match parse_content_range(headers, body.len()) {
        Ok(r) => r,
        Err(message) => return ApiError::bad_request(message).into_response(),
    };
    let stored = session.received.len() as u64;
    let complete = match range {
        ContentRange::Query { total } => total == Some(stored),
        ContentRange::Chunk { start, end, total } => {
            if body.len() as u64 != end - start + 1 {
                return ApiError::bad_request("Content-Range does not match the length of the body.").into_response();
            }
            if total.is_some_and(|t| end >= t)
                || matches!((total, session.declared_length), (Some(t), Some(d)) if t != d)
            {
                return ApiError::bad_request("Content-Range is past the end of the upload or contradicts its length.")
                    .into_response();
            }
            if start > stored {
                return incomplete(stored, no_308);
            }
            let last = total == Some(end + 1);
            if !last && !body.len().is_multiple_of(CHUNK_MULTIPLE) {
                return ApiError::bad_request(
                    "Invalid request. The number of bytes uploaded is required to be equal or greater than 262144, except for the final request (it's recommended to be the exact multiple of 262144).",
                )
                .into_response();
            }
            if end + 1 > stored {
                session.received.extend_from_slice(&body[(stored - start) as usize..]);
            }
            last
        }
    };
    if !complete {
        let now = session.received.len() as u64;
        return incomplete(now, no_308);
    }
    let bytes = std::mem::take(&mut session.received);
    let (target, meta, session_params) = (session.target.clone(), session.meta.clone(), session.params.clone());
    let media_type = meta.mime_type.clone().unwrap_or_else(|| "application/octet-stream".into());
    let status = if target.is_some() { StatusCode::OK } else { StatusCode::CREATED };
    match write(&mut inner, target.as_deref(), meta, &media_type, bytes, &session_params) {
        Ok(id) => {
            if let Some(s) = inner.sessions.get_mut(&upload_id) {
                s.done = Some((status, id.clone()));
            }
            finished(&inner, &upload_id, status, &id)
        }
        Err(e) => e.into_response(),
    }
}

/// The final answer: the File, cut to the `fields` of the request that opened the session.
fn finished(inner: &Inner, upload_id: &str, status: StatusCode, id: &str) -> Response {
    let fields = inner.sessions.get(upload_id).and_then(|s| s.params.get("fields").cloned());
    let select = Selection::from_param(fields.as_ref(), FILE_DEFAULT).unwrap_or(Selection::All);
    match inner.get(id) {
        Some(file) => (status, Json(select.apply(&inner.file_json(file)))).into_response(),
        None => ApiError::not_found(id).into_response(),
    }
}

/// 308 Resume Incomplete, or its `X-GUploader-No-308` disguise.
fn incomplete(stored: u64, no_308: bool) -> Response {
    let mut response = if no_308 {
        let mut r = StatusCode::OK.into_response();
        r.headers_mut().insert("x-http-status-code-override", header_value("308"));
        r
    } else {
        StatusCode::PERMANENT_REDIRECT.into_response()
    };
    if stored > 0 {
        response.headers_mut().insert(header::RANGE, header_value(&format!("bytes=0-{}", stored - 1)));
    }
    response.headers_mut().insert(header::CONTENT_LENGTH, 0.into());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_a_multipart_related_body() {
        let body = b"--xyz\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{\"name\":\"a.jpg\"}\r\n--xyz\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\r\n--x\r\n--xyz--\r\n";
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, header_value("multipart/related; boundary=\"xyz\""));
        let (meta, media_type, bytes) = split_multipart(&headers, body).unwrap();
        assert_eq!(meta.name.as_deref(), Some("a.jpg"));
        assert_eq!(media_type, "image/jpeg");
        assert_eq!(bytes, b"\xff\xd8\r\n--x");
    }

    #[test]
    fn reads_content_ranges() {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_RANGE, header_value("bytes 0-262143/*"));
        assert_eq!(parse_content_range(&h, 262_144), Ok(ContentRange::Chunk { start: 0, end: 262_143, total: None }));
        h.insert(header::CONTENT_RANGE, header_value("bytes */1000"));
        assert_eq!(parse_content_range(&h, 0), Ok(ContentRange::Query { total: Some(1000) }));
        h.insert(header::CONTENT_RANGE, header_value("bytes 5-1/10"));
        assert!(parse_content_range(&h, 0).is_err());
    }
}
