//! Upload routes: `files/upload` and the session routes (`upload_session/start`, `append_v2`,
//! `finish`), with Dropbox's checks: 150 MiB per request (`payload_too_large`), the client's
//! `content_hash` (`content_hash_mismatch`) of the bytes sent in that request (on session routes
//! too: the chunk's hash, not the file's), and the session cursor's offset (`incorrect_offset` with
//! `correct_offset`, so a client that lost an answer learns what was kept).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::args;
use super::content_hash::content_hash;
use super::errors::DbxError;
use super::store::{random_token, Inner, Session, Target};
use super::DropboxFake;

/// Dropbox's cap on one request's body.
pub const REQUEST_CAP: usize = 150 * 1024 * 1024;

#[derive(Deserialize)]
struct CommitInfo {
    path: String,
    #[serde(default)]
    mode: Option<Value>,
    client_modified: Option<String>,
    content_hash: Option<String>,
}

pub async fn upload(State(fake): State<DropboxFake>, headers: HeaderMap, body: Bytes) -> Result<Response, DbxError> {
    let route = "files/upload";
    let arg: CommitInfo = args::header(route, &headers)?;
    args::octet_stream(route, &headers)?;
    check_payload(&body)?;
    check_hash(arg.content_hash.as_deref(), &body)?;
    let mut inner = fake.lock();
    let file = commit(&mut inner, &arg, body.to_vec()).map_err(|tags| match tags {
        Commit::Path(tags) => DbxError::upload_write(&tags, ""),
        Commit::Malformed(e) => e,
    })?;
    Ok(Json(file).into_response())
}

enum Commit {
    /// A `WriteError` tag path.
    Path(String),
    Malformed(DbxError),
}

fn commit(inner: &mut Inner, arg: &CommitInfo, bytes: Vec<u8>) -> Result<Value, Commit> {
    let display = match inner.target(&arg.path, "path").map_err(Commit::Malformed)? {
        Target::Path { display, .. } => display,
        Target::Root => return Err(Commit::Path("malformed_path".into())),
    };
    let mode = arg.mode.clone().unwrap_or_else(|| json!("add"));
    let client_modified = arg.client_modified.clone();
    inner.write_file(&display, bytes, &mode, client_modified).map(|f| f.file_metadata()).map_err(Commit::Path)
}

fn check_payload(body: &[u8]) -> Result<(), DbxError> {
    if body.len() > REQUEST_CAP {
        return Err(DbxError::route("payload_too_large"));
    }
    Ok(())
}

fn check_hash(claimed: Option<&str>, bytes: &[u8]) -> Result<(), DbxError> {
    match claimed {
        Some(h) if !h.eq_ignore_ascii_case(&content_hash(bytes)) => Err(DbxError::route("content_hash_mismatch")),
        _ => Ok(()),
    }
}

#[derive(Deserialize)]
struct StartArg {
    #[serde(default)]
    close: bool,
    content_hash: Option<String>,
}

pub async fn start(State(fake): State<DropboxFake>, headers: HeaderMap, body: Bytes) -> Result<Response, DbxError> {
    let route = "files/upload_session/start";
    let arg: StartArg = args::header(route, &headers)?;
    args::octet_stream(route, &headers)?;
    check_payload(&body)?;
    check_hash(arg.content_hash.as_deref(), &body)?;
    let id = format!("pid_upload_session:{}", random_token(32));
    fake.lock().sessions.insert(id.clone(), Session { bytes: body.to_vec(), closed: arg.close });
    Ok(Json(json!({ "session_id": id })).into_response())
}

#[derive(Deserialize)]
struct Cursor {
    session_id: String,
    offset: u64,
}

#[derive(Deserialize)]
struct AppendArg {
    cursor: Cursor,
    #[serde(default)]
    close: bool,
    content_hash: Option<String>,
}

pub async fn append(State(fake): State<DropboxFake>, headers: HeaderMap, body: Bytes) -> Result<Response, DbxError> {
    let route = "files/upload_session/append_v2";
    let arg: AppendArg = args::header(route, &headers)?;
    args::octet_stream(route, &headers)?;
    check_payload(&body)?;
    check_hash(arg.content_hash.as_deref(), &body)?;
    let mut inner = fake.lock();
    let session = lookup(&mut inner, &arg.cursor, "")?;
    session.bytes.extend_from_slice(&body);
    session.closed = arg.close;
    Ok(Json(Value::Null).into_response())
}

/// The session of `cursor`, if it exists, is open and is at `cursor.offset`; else the lookup
/// error under `union` ("" for append, `lookup_failed` for finish).
fn lookup<'a>(inner: &'a mut Inner, cursor: &Cursor, union: &str) -> Result<&'a mut Session, DbxError> {
    let tags = |tag: &str| if union.is_empty() { tag.to_string() } else { format!("{union}/{tag}") };
    if inner.faults.take_session_expiry() {
        inner.sessions.clear();
    }
    let Some(session) = inner.sessions.get_mut(&cursor.session_id) else {
        return Err(DbxError::route(&tags("not_found")));
    };
    let held = session.bytes.len() as u64;
    if cursor.offset != held {
        return Err(DbxError::route_with(&tags("incorrect_offset"), json!({ "correct_offset": held })));
    }
    if session.closed && union.is_empty() {
        return Err(DbxError::route("closed"));
    }
    Ok(session)
}

#[derive(Deserialize)]
struct FinishArg {
    cursor: Cursor,
    commit: CommitInfo,
    content_hash: Option<String>,
}

pub async fn finish(State(fake): State<DropboxFake>, headers: HeaderMap, body: Bytes) -> Result<Response, DbxError> {
    let route = "files/upload_session/finish";
    let arg: FinishArg = args::header(route, &headers)?;
    args::octet_stream(route, &headers)?;
    check_payload(&body)?;
    check_hash(arg.content_hash.as_deref(), &body)?;
    let mut inner = fake.lock();
    let session = lookup(&mut inner, &arg.cursor, "lookup_failed")?;
    session.bytes.extend_from_slice(&body);
    let bytes = session.bytes.clone();
    match commit(&mut inner, &arg.commit, bytes) {
        Ok(file) => {
            inner.sessions.remove(&arg.cursor.session_id);
            Ok(Json(file).into_response())
        }
        Err(Commit::Path(tags)) => Err(DbxError::route(&format!("path/{tags}"))),
        Err(Commit::Malformed(e)) => Err(e),
    }
}
