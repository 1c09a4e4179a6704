//! `list_folder`, `list_folder/continue`, `list_folder/get_latest_cursor` and the unauthenticated
//! `list_folder/longpoll`. A cursor names the listed folder, the journal position it has seen and,
//! while the first listing is being paged, the last path it gave: the first listing is everything
//! there is, in path order (so a folder comes before what is in it), `limit` entries a page; after
//! it, `continue` replays the journal (upserts and `deleted` entries) from the cursor's position.
//! Cursors from before [`super::DropboxFake::reset_cursors`] answer `reset`.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::args;
use super::errors::DbxError;
use super::store::{parent, within, Inner, Target};
use super::DropboxFake;

#[derive(Serialize, Deserialize, Clone)]
struct Cursor {
    /// Epoch.
    e: u64,
    /// The listed folder, lower-cased ("" for the root).
    p: String,
    r: bool,
    /// Journal entries before this one are seen.
    s: usize,
    /// While the first listing is paged: the last path (lower) it gave.
    a: Option<String>,
}

impl Cursor {
    fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    fn decode(route: &str, raw: &str, inner: &Inner) -> Result<Cursor, DbxError> {
        let cursor: Cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(raw)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or_else(|| DbxError::bad_input(route, "request body: cursor: invalid cursor"))?;
        if cursor.e != inner.epoch {
            return Err(DbxError::route("reset"));
        }
        Ok(cursor)
    }

    /// Whether the path (lower) is what this cursor lists.
    fn covers(&self, path: &str) -> bool {
        if self.r {
            within(path, &self.p)
        } else {
            parent(path) == self.p
        }
    }
}

#[derive(Deserialize)]
struct ListArg {
    path: String,
    #[serde(default)]
    recursive: bool,
    limit: Option<usize>,
}

/// A folder's cursor, checked: the root, or a folder that exists.
fn start(route: &str, inner: &Inner, arg: &ListArg) -> Result<Cursor, DbxError> {
    let p = match inner.target(&arg.path, "path")? {
        Target::Root => String::new(),
        Target::Path { lower, .. } => match inner.items.get(&lower) {
            None => return Err(DbxError::route("path/not_found")),
            Some(f) if !f.is_folder => return Err(DbxError::route("path/not_folder")),
            Some(_) => lower,
        },
    };
    if arg.limit.is_some_and(|l| !(1..=2000).contains(&l)) {
        return Err(DbxError::bad_input(route, "request body: limit: value must be between 1 and 2000"));
    }
    Ok(Cursor { e: inner.epoch, p, r: arg.recursive, s: inner.journal.len(), a: Some(String::new()) })
}

pub async fn list_folder(
    State(fake): State<DropboxFake>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, DbxError> {
    let arg: ListArg = args::rpc("files/list_folder", &headers, &body)?;
    let inner = fake.lock();
    let cursor = start("files/list_folder", &inner, &arg)?;
    let limit = arg.limit.unwrap_or(2000).min(inner.page_limit);
    Ok(Json(page(&inner, cursor, limit)).into_response())
}

pub async fn latest_cursor(
    State(fake): State<DropboxFake>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, DbxError> {
    let arg: ListArg = args::rpc("files/list_folder/get_latest_cursor", &headers, &body)?;
    let inner = fake.lock();
    let cursor = Cursor { a: None, ..start("files/list_folder/get_latest_cursor", &inner, &arg)? };
    Ok(Json(json!({ "cursor": cursor.encode() })).into_response())
}

#[derive(Deserialize)]
struct ContinueArg {
    cursor: String,
}

pub async fn list_continue(
    State(fake): State<DropboxFake>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, DbxError> {
    let route = "files/list_folder/continue";
    let arg: ContinueArg = args::rpc(route, &headers, &body)?;
    let inner = fake.lock();
    let cursor = Cursor::decode(route, &arg.cursor, &inner)?;
    let limit = inner.page_limit;
    Ok(Json(page(&inner, cursor, limit)).into_response())
}

/// The next page from `cursor`: of the first listing while it lasts, then of the journal.
fn page(inner: &Inner, mut cursor: Cursor, limit: usize) -> Value {
    let mut entries = Vec::new();
    let has_more = if let Some(after) = cursor.a.clone() {
        let scope = cursor.clone();
        let mut rest = inner
            .items
            .range::<String, _>((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded))
            .filter(|(k, _)| scope.covers(k));
        let mut last = None;
        for (key, file) in rest.by_ref().take(limit) {
            entries.push(file.metadata());
            last = Some(key.clone());
        }
        cursor.a = if rest.next().is_none() { None } else { last };
        cursor.a.is_some()
    } else {
        let mut at = cursor.s;
        while at < inner.journal.len() && entries.len() < limit {
            let change = &inner.journal[at];
            if cursor.covers(&change.path_lower) {
                entries.push(change.metadata.clone());
            }
            at += 1;
        }
        cursor.s = at;
        inner.journal[at..].iter().any(|c| cursor.covers(&c.path_lower))
    };
    json!({ "entries": entries, "cursor": cursor.encode(), "has_more": has_more })
}

#[derive(Deserialize)]
struct LongpollArg {
    cursor: String,
    #[serde(default = "default_timeout")]
    timeout: u64,
}

fn default_timeout() -> u64 {
    30
}

/// Answers as soon as the cursor has something to give, or after `timeout` seconds.
pub async fn longpoll(State(fake): State<DropboxFake>, headers: HeaderMap, body: Bytes) -> Result<Response, DbxError> {
    let route = "files/list_folder/longpoll";
    let arg: LongpollArg = args::rpc(route, &headers, &body)?;
    if !(30..=480).contains(&arg.timeout) {
        return Err(DbxError::bad_input(route, "request body: timeout: value must be between 30 and 480"));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(arg.timeout);
    let changed = fake.lock().changed.clone();
    loop {
        // Registered before looking, so a change between the look and the wait still wakes it.
        let notified = changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let inner = fake.lock();
            let cursor = Cursor::decode(route, &arg.cursor, &inner)?;
            let pending = cursor.a.is_some()
                || inner.journal[cursor.s.min(inner.journal.len())..].iter().any(|c| cursor.covers(&c.path_lower));
            if pending {
                return Ok(Json(json!({ "changes": true })).into_response());
            }
        }
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep_until(deadline) => return Ok(Json(json!({ "changes": false })).into_response()),
        }
    }
}
