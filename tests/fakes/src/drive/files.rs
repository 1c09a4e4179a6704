//! `/drive/v3/files`: list with `q`, get (metadata or `alt=media`), create, update, delete.

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use serde_json::{json, Value};

use super::errors::ApiError;
use super::fields::Selection;
use super::query::{self, Candidate};
use super::store::{resolve, Meta, ROOT_ID};
use super::{DriveFake, Params};

/// v3's default: a File without `fields` has only these.
pub const FILE_DEFAULT: &str = "kind,id,name,mimeType";
const LIST_DEFAULT: &str = "kind,nextPageToken,incompleteSearch,files(kind,id,name,mimeType)";

pub fn selection(params: &Params, default: &str) -> Result<Selection, ApiError> {
    Selection::from_param(params.get("fields"), default).map_err(|m| ApiError::invalid("fields", m))
}

/// `pageSize`: 1 to 1000, else 400 like Drive.
pub fn page_size(params: &Params, default: usize) -> Result<usize, ApiError> {
    let Some(raw) = params.get("pageSize") else { return Ok(default) };
    match raw.parse::<usize>() {
        Ok(n) if (1..=1000).contains(&n) => Ok(n),
        _ => Err(ApiError::invalid(
            "pageSize",
            format!("Invalid value '{raw}'. Values must be within the range: [1, 1000]"),
        )),
    }
}

pub async fn list(State(fake): State<DriveFake>, Query(params): Query<Params>) -> Result<Response, ApiError> {
    let select = selection(&params, LIST_DEFAULT)?;
    let size = page_size(&params, 100)?;
    let terms =
        query::parse(params.get("q").map_or("", String::as_str), ROOT_ID).map_err(|m| ApiError::invalid("q", m))?;
    // The page token is opaque to clients; here it is the offset into the matching files.
    let offset = match params.get("pageToken") {
        None => 0,
        Some(t) => t
            .strip_prefix("fakepage-")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| ApiError::invalid("pageToken", "Invalid Value"))?,
    };
    let inner = fake.lock();
    let matching: Vec<Value> = inner
        .files
        .iter()
        .filter(|f| {
            let candidate =
                Candidate { name: &f.name, mime_type: &f.mime_type, parents: &f.parents, trashed: inner.trashed(f) };
            query::matches(&terms, &candidate)
        })
        .map(|f| inner.file_json(f))
        .collect();
    let page: Vec<Value> = matching.iter().skip(offset).take(size).cloned().collect();
    let mut body = json!({ "kind": "drive#fileList", "incompleteSearch": false, "files": page });
    if offset + size < matching.len() {
        body["nextPageToken"] = json!(format!("fakepage-{}", offset + size));
    }
    Ok(Json(select.apply(&body)).into_response())
}

pub async fn get(
    State(fake): State<DriveFake>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = resolve(id);
    if params.get("alt").is_some_and(|a| a == "media") {
        return download(&fake, &id, &headers);
    }
    let select = selection(&params, FILE_DEFAULT)?;
    let inner = fake.lock();
    let value = if id == ROOT_ID {
        inner.root_json()
    } else {
        inner.get(&id).map(|f| inner.file_json(f)).ok_or_else(|| ApiError::not_found(&id))?
    };
    Ok(Json(select.apply(&value)).into_response())
}

/// `POST /drive/v3/files`: metadata only, so a folder or an empty file.
pub async fn create(
    State(fake): State<DriveFake>,
    Query(params): Query<Params>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let select = selection(&params, FILE_DEFAULT)?;
    let meta = Meta::from_body(&body)?;
    let mut inner = fake.lock();
    let id = inner.create(&meta, None, "application/octet-stream")?;
    let value = inner.get(&id).map(|f| inner.file_json(f)).unwrap_or_default();
    Ok(Json(select.apply(&value)).into_response())
}

/// `PATCH /drive/v3/files/{id}`: rename, move with `addParents`/`removeParents`, trash.
pub async fn update(
    State(fake): State<DriveFake>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let select = selection(&params, FILE_DEFAULT)?;
    let meta = Meta::from_body(&body)?;
    let id = resolve(id);
    let mut inner = fake.lock();
    update_and_record(&mut inner, &id, &meta, &params)?;
    let value = inner.get(&id).map(|f| inner.file_json(f)).unwrap_or_default();
    Ok(Json(select.apply(&value)).into_response())
}

/// A metadata update as `files.update` makes it, recorded in the change feed.
pub fn update_and_record(
    inner: &mut super::store::Inner,
    id: &str,
    meta: &Meta,
    params: &Params,
) -> Result<(), ApiError> {
    apply_update(inner, id, meta, params)?;
    inner.record(id);
    // Trashing or restoring a folder changes `trashed` of everything under it: a client watching
    // the feed sees each of them.
    if meta.trashed.is_some() {
        let under: Vec<String> =
            inner.files.iter().filter(|f| f.id != id && inner.is_within(&f.id, id)).map(|f| f.id.clone()).collect();
        for child in under {
            inner.record(&child);
        }
    }
    Ok(())
}

/// Metadata changes shared by the metadata and upload routes; records no change itself.
pub fn apply_update(inner: &mut super::store::Inner, id: &str, meta: &Meta, params: &Params) -> Result<(), ApiError> {
    if meta.parents.is_some() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "fieldNotWritable",
            "The parents field is not directly writable in update requests. Use the addParents and removeParents parameters instead.",
        ));
    }
    let ids = |key: &str| -> Vec<String> {
        params.get(key).map(|v| v.split(',').filter(|s| !s.is_empty()).map(resolve).collect()).unwrap_or_default()
    };
    let (add, remove) = (ids("addParents"), ids("removeParents"));
    let current = inner.get(id).ok_or_else(|| ApiError::not_found(id))?;
    let mut parents: Vec<String> = current.parents.iter().filter(|p| !remove.contains(p)).cloned().collect();
    for p in add {
        if !parents.contains(&p) {
            parents.push(p);
        }
    }
    inner.check_parents(&parents)?;
    if parents.iter().any(|p| inner.is_within(p, id)) {
        return Err(ApiError::bad_request("A folder cannot be moved into itself or its descendants."));
    }
    let Some(file) = inner.get_mut(id) else { return Err(ApiError::not_found(id)) };
    file.parents = parents;
    if let Some(name) = &meta.name {
        file.name = name.clone();
    }
    if let Some(mime) = &meta.mime_type {
        file.mime_type = mime.clone();
    }
    if let Some(t) = &meta.modified_time {
        file.modified_time = t.clone();
    }
    if let Some(trashed) = meta.trashed {
        file.explicitly_trashed = trashed;
    }
    Ok(())
}

/// `DELETE`: permanent, descendants included; 204 with no body.
pub async fn delete(State(fake): State<DriveFake>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = resolve(id);
    let mut inner = fake.lock();
    if id == ROOT_ID {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "insufficientFilePermissions", "The root cannot be deleted."));
    }
    if inner.get(&id).is_none() {
        return Err(ApiError::not_found(&id));
    }
    inner.delete(&id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `alt=media`, with a single `Range: bytes=a-b | a- | -n` answered 206.
fn download(fake: &DriveFake, id: &str, headers: &HeaderMap) -> Result<Response, ApiError> {
    let mut inner = fake.lock();
    let file = inner.get(id).ok_or_else(|| ApiError::not_found(id))?;
    if file.is_folder() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "fileNotDownloadable",
            "Only files with binary content can be downloaded.",
        ));
    }
    let (bytes, mime) = (file.bytes.clone(), file.mime_type.clone());
    let total = bytes.len();
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).and_then(|r| parse_range(r, total));
    let (status, slice, content_range) = match range {
        None => (StatusCode::OK, bytes.clone(), None),
        Some(Some((start, end))) => {
            (StatusCode::PARTIAL_CONTENT, bytes.slice(start..=end), Some(format!("bytes {start}-{end}/{total}")))
        }
        Some(None) => {
            let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            r.headers_mut().insert(header::CONTENT_RANGE, header_value(&format!("bytes */{total}")));
            return Ok(r);
        }
    };
    let length = slice.len();
    let cut = inner.cut_next_download.take();
    let body = match cut {
        // The length is announced in full, then the stream fails: the client sees a short body.
        // The pause lets hyper flush the head and the first bytes before the connection drops.
        Some(n) => {
            let head = Bytes::copy_from_slice(&slice[..n.min(slice.len())]);
            let failure = async {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                Err(std::io::Error::other("download cut by the test"))
            };
            Body::from_stream(
                futures_util::stream::iter([Ok::<Bytes, std::io::Error>(head)])
                    .chain(futures_util::stream::once(failure)),
            )
        }
        None => Body::from(slice),
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, header_value(&mime));
    h.insert(header::CONTENT_LENGTH, length.into());
    h.insert(header::ACCEPT_RANGES, header_value("bytes"));
    if let Some(cr) = content_range {
        h.insert(header::CONTENT_RANGE, header_value(&cr));
    }
    Ok(response)
}

/// `None`: no readable range, so the whole file (as HTTP allows); `Some(None)`: unsatisfiable;
/// `Some(Some((first, last)))`: inclusive bounds.
fn parse_range(value: &str, total: usize) -> Option<Option<(usize, usize)>> {
    let spec = value.trim().strip_prefix("bytes=")?;
    let (a, b) = spec.split_once('-')?;
    let bounds = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: usize = n.parse().ok()?;
            if n == 0 || total == 0 {
                return Some(None);
            }
            (total - n.min(total), total - 1)
        }
        (a, b) => {
            let start: usize = a.parse().ok()?;
            let end = if b.is_empty() { usize::MAX } else { b.parse().ok()? };
            if end < start {
                return None;
            }
            if start >= total {
                return Some(None);
            }
            (start, end.min(total - 1))
        }
    };
    Some(Some(bounds))
}

pub fn header_value(s: &str) -> axum::http::HeaderValue {
    axum::http::HeaderValue::from_str(s).unwrap_or_else(|_| axum::http::HeaderValue::from_static("invalid"))
}
