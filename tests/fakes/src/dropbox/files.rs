//! RPC routes on files and folders (`get_metadata`, `create_folder_v2`, `delete_v2`, `move_v2`,
//! `copy_v2`) and the download route with `Dropbox-API-Result` and `Range`.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::args::{self, RESULT_HEADER};
use super::errors::DbxError;
use super::store::{within, DropboxFile, Target};
use super::DropboxFake;

#[derive(Deserialize)]
struct PathArg {
    path: String,
}

pub async fn get_metadata(
    State(fake): State<DropboxFake>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, DbxError> {
    let arg: PathArg = args::rpc("files/get_metadata", &headers, &body)?;
    let inner = fake.lock();
    let Target::Path { lower, .. } = inner.target(&arg.path, "path")? else {
        return Err(DbxError::bad_input("files/get_metadata", "request body: path: The root folder is unsupported."));
    };
    let file = inner.items.get(&lower).ok_or_else(|| DbxError::route("path/not_found"))?;
    Ok(Json(file.metadata()).into_response())
}

pub async fn create_folder(
    State(fake): State<DropboxFake>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, DbxError> {
    let arg: PathArg = args::rpc("files/create_folder_v2", &headers, &body)?;
    let mut inner = fake.lock();
    let Target::Path { lower, display } = inner.target(&arg.path, "path")? else {
        return Err(DbxError::route("path/conflict/folder"));
    };
    if let Some(existing) = inner.items.get(&lower) {
        let what = if existing.is_folder { "folder" } else { "file" };
        return Err(DbxError::route(&format!("path/conflict/{what}")));
    }
    inner.make_parents(&display).map_err(|tags| DbxError::route(&format!("path/{tags}")))?;
    let folder = inner.make_folder(&display).map_err(|tags| DbxError::route(&format!("path/{tags}")))?;
    let metadata = folder.map(|f| f.metadata()).unwrap_or_default();
    Ok(Json(json!({ "metadata": without_tag(metadata) })).into_response())
}

pub async fn delete(State(fake): State<DropboxFake>, headers: HeaderMap, body: Bytes) -> Result<Response, DbxError> {
    let arg: PathArg = args::rpc("files/delete_v2", &headers, &body)?;
    let mut inner = fake.lock();
    let Target::Path { lower, .. } = inner.target(&arg.path, "path_lookup")? else {
        return Err(DbxError::route("path_write/disallowed_name"));
    };
    let top = inner.items.get(&lower).cloned().ok_or_else(|| DbxError::route("path_lookup/not_found"))?;
    inner.remove_tree(&lower);
    Ok(Json(json!({ "metadata": top.metadata() })).into_response())
}

#[derive(Deserialize)]
struct RelocationArg {
    from_path: String,
    to_path: String,
}

pub async fn move_v2(State(fake): State<DropboxFake>, headers: HeaderMap, body: Bytes) -> Result<Response, DbxError> {
    relocate(&fake, "files/move_v2", &headers, &body, true)
}

pub async fn copy_v2(State(fake): State<DropboxFake>, headers: HeaderMap, body: Bytes) -> Result<Response, DbxError> {
    relocate(&fake, "files/copy_v2", &headers, &body, false)
}

/// Move (ids kept, deleted entries for the old paths) or copy (new ids) of a file or a tree.
fn relocate(
    fake: &DropboxFake,
    route: &str,
    headers: &HeaderMap,
    body: &[u8],
    keep: bool,
) -> Result<Response, DbxError> {
    let arg: RelocationArg = args::rpc(route, headers, body)?;
    let mut inner = fake.lock();
    let Target::Path { lower: from, .. } = inner.target(&arg.from_path, "from_lookup")? else {
        return Err(DbxError::route("from_lookup/not_found"));
    };
    let Target::Path { lower: to, display: to_display } = inner.target(&arg.to_path, "to")? else {
        return Err(DbxError::route("to/conflict/folder"));
    };
    if !inner.items.contains_key(&from) {
        return Err(DbxError::route("from_lookup/not_found"));
    }
    if within(&to, &from) {
        return Err(DbxError::route("cant_move_folder_into_itself"));
    }
    if let Some(existing) = inner.items.get(&to) {
        let what = if existing.is_folder { "folder" } else { "file" };
        return Err(DbxError::route(&format!("to/conflict/{what}")));
    }
    inner.make_parents(&to_display).map_err(|tags| DbxError::route(&format!("to/{tags}")))?;
    let to_display = inner.display_for(&to_display);
    let tree: Vec<DropboxFile> = if keep {
        inner.remove_tree(&from)
    } else {
        inner.items.values().filter(|f| within(&f.path_lower(), &from)).cloned().collect()
    };
    let from_len = tree.first().map(|f| f.path_display.len()).unwrap_or(0);
    let mut top = Value::Null;
    for mut item in tree {
        item.path_display = format!("{to_display}{}", &item.path_display[from_len..]);
        if !keep {
            item.id = inner.new_id();
        }
        if !item.is_folder {
            item.rev = inner.next_rev();
        }
        let key = item.path_lower();
        if top.is_null() {
            top = item.metadata();
        }
        inner.items.insert(key.clone(), item.clone());
        inner.record(&key, item.metadata());
    }
    Ok(Json(json!({ "metadata": top })).into_response())
}

pub async fn download(State(fake): State<DropboxFake>, headers: HeaderMap) -> Result<Response, DbxError> {
    let arg: PathArg = args::header("files/download", &headers)?;
    let inner = fake.lock();
    let Target::Path { lower, .. } = inner.target(&arg.path, "path")? else {
        return Err(DbxError::route("path/not_file"));
    };
    let file = inner.items.get(&lower).ok_or_else(|| DbxError::route("path/not_found"))?;
    if file.is_folder {
        return Err(DbxError::route("path/not_file"));
    }
    let total = file.bytes.len();
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).and_then(|r| parse_range(r, total));
    let (status, slice, content_range) = match range {
        None => (StatusCode::OK, file.bytes.clone(), None),
        Some(Some((first, last))) => {
            (StatusCode::PARTIAL_CONTENT, file.bytes.slice(first..=last), Some(format!("bytes {first}-{last}/{total}")))
        }
        Some(None) => {
            let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            r.headers_mut().insert(header::CONTENT_RANGE, value(&format!("bytes */{total}")));
            return Ok(r);
        }
    };
    let length = slice.len();
    let mut response = Response::new(Body::from(slice));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(RESULT_HEADER, value(&args::header_safe(&file.file_metadata())));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_LENGTH, length.into());
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(cr) = content_range {
        h.insert(header::CONTENT_RANGE, value(&cr));
    }
    Ok(response)
}

/// One `bytes=a-b | a- | -n` range. None: no readable range (the whole file); Some(None): not
/// satisfiable; Some(Some((first, last))): inclusive bounds.
fn parse_range(spec: &str, total: usize) -> Option<Option<(usize, usize)>> {
    let (a, b) = spec.trim().strip_prefix("bytes=")?.split_once('-')?;
    match (a.trim(), b.trim()) {
        ("", n) => {
            let n: usize = n.parse().ok()?;
            Some((n > 0 && total > 0).then(|| (total - n.min(total), total - 1)))
        }
        (a, b) => {
            let first: usize = a.parse().ok()?;
            let last = if b.is_empty() { usize::MAX } else { b.parse().ok()? };
            if last < first {
                return None;
            }
            Some((first < total).then(|| (first, last.min(total - 1))))
        }
    }
}

fn value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

fn without_tag(mut metadata: Value) -> Value {
    if let Some(map) = metadata.as_object_mut() {
        map.remove(".tag");
    }
    metadata
}
