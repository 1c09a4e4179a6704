//! Uploads to Graph. Up to the simple limit: one `PUT …/items/{parent}:/{name}:/content` with
//! `conflictBehavior=replace`. Above it: an upload session (`createUploadSession`), its fragments
//! `PUT` to the `uploadUrl` without the Authorization header (the URL is the credential; Graph may
//! answer 401 to a bearer there), each a multiple of 320 KiB but the last, with
//! `Content-Range: bytes S-E/TOTAL`. A 202 says in `nextExpectedRanges` where to go on. After a
//! cut, an error or a 416, `GET {uploadUrl}` says what Graph holds and the upload goes on from
//! there, never from zero; a session Graph forgot (404) starts over once. Our QuickXorHash covers
//! the bytes in the order Graph confirms them and is compared with the item's `quickXorHash`.

use std::path::Path;

use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;

use super::api::{check, read_json, DriveItem};
use super::quickxor::{quickxor, QuickXor};
use super::Graph;
use crate::error::{ErrorClass, RemoteError};
use crate::local::read_range;

pub(super) async fn upload(graph: &Graph, local: &Path, parent: &str, name: &str) -> Result<DriveItem, RemoteError> {
    let size = tokio::fs::metadata(local).await.map_err(|e| RemoteError::local(local, e))?.len();
    let (item, ours) = if size <= graph.settings.simple_upload_limit {
        simple(graph, local, size, parent, name).await?
    } else {
        match session(graph, local, size, parent, name).await {
            Err(e) if e.class() == ErrorClass::NotFound => match committed(graph, local, size, parent, name).await? {
                // The last fragment's answer was lost, and with it the session: the file is there.
                Some(done) => done,
                None => {
                    tracing::info!(name, "the upload session was forgotten; starting it again");
                    session(graph, local, size, parent, name).await?
                }
            },
            other => other?,
        }
    };
    match item.quickxor() {
        Some(theirs) if theirs != ours => Err(RemoteError::HashMismatch {
            what: name.to_string(),
            kind: "quickXorHash",
            remote: theirs.to_string(),
            local: ours,
        }),
        _ => Ok(item),
    }
}

async fn simple(
    graph: &Graph,
    local: &Path,
    size: u64,
    parent: &str,
    name: &str,
) -> Result<(DriveItem, String), RemoteError> {
    let (bytes, ours) = read_range(local, 0, size, quickxor).await?;
    let mut url = graph.child_url(parent, name, Some("content")).await?;
    url.query_pairs_mut().append_pair("@microsoft.graph.conflictBehavior", "replace");
    // Replacing is idempotent: a PUT whose answer was lost is simply sent again.
    let item = graph
        .request(
            "graph upload",
            |token| {
                graph
                    .http
                    .put(url.clone())
                    .bearer_auth(token)
                    .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                    .body(bytes.clone())
            },
            |response| read_json(graph.provider, response),
        )
        .await?;
    Ok((item, ours))
}

/// The item at the upload's destination, if it already holds exactly the local file's bytes.
async fn committed(
    graph: &Graph,
    local: &Path,
    size: u64,
    parent: &str,
    name: &str,
) -> Result<Option<(DriveItem, String)>, RemoteError> {
    let url = graph.child_url(parent, name, None).await?;
    let Some(item) = graph.get_item("graph upload check", url).await? else { return Ok(None) };
    if item.is_folder() || item.size != Some(size) {
        return Ok(None);
    }
    let mut hasher = QuickXor::new();
    let mut offset = 0;
    while offset < size {
        let len = graph.settings.chunk_size.min(size - offset);
        let (_, after) = read_range(local, offset, len, move |bytes| {
            hasher.update(bytes);
            hasher
        })
        .await?;
        (hasher, offset) = (after, offset + len);
    }
    let ours = hasher.finish();
    Ok((item.quickxor() == Some(ours.as_str())).then_some((item, ours)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionState {
    upload_url: Option<String>,
    #[serde(default)]
    next_expected_ranges: Vec<String>,
}

impl SessionState {
    /// The first byte Graph is missing: `"26-"` or `"26-49"` gives 26.
    fn next(&self, provider: &'static str) -> Result<u64, RemoteError> {
        self.next_expected_ranges
            .first()
            .and_then(|r| r.split('-').next())
            .and_then(|n| n.trim().parse().ok())
            .ok_or_else(|| RemoteError::Protocol {
                provider,
                detail: format!("upload session without a next range: {:?}", self.next_expected_ranges),
            })
    }
}

async fn session(
    graph: &Graph,
    local: &Path,
    size: u64,
    parent: &str,
    name: &str,
) -> Result<(DriveItem, String), RemoteError> {
    let url = graph.child_url(parent, name, Some("createUploadSession")).await?;
    let body = json!({ "item": { "@microsoft.graph.conflictBehavior": "replace", "name": name } });
    let created: SessionState =
        graph.json("graph upload session", |token| graph.http.post(url.clone()).bearer_auth(token).json(&body)).await?;
    let Some(upload_url) = created.upload_url else {
        return Err(RemoteError::Protocol { provider: graph.provider, detail: "no uploadUrl for the session".into() });
    };
    let state =
        Mutex::new(Session { url: upload_url.clone(), size, next: 0, hashed: 0, hasher: QuickXor::new(), lost: false });
    let mut stalled = 0u32;
    loop {
        let before = state.lock().await.next;
        let step = graph.pacer.run("graph upload fragment", || async { state.lock().await.step(graph, local).await });
        match step.await {
            Ok(Some(item)) => return Ok((item, state.lock().await.hasher.finish())),
            Ok(None) => {}
            Err(e) => {
                cancel(graph, &upload_url).await;
                return Err(e);
            }
        }
        // Answers that confirm nothing new must not go round for ever.
        stalled = if state.lock().await.next > before { 0 } else { stalled + 1 };
        if stalled >= graph.pacer.settings().max_attempts {
            cancel(graph, &upload_url).await;
            return Err(RemoteError::Provider {
                provider: graph.provider,
                status: 202,
                code: None,
                message: format!("the upload of {name} made no progress after {stalled} fragments"),
                class: ErrorClass::Retry { after: None },
            });
        }
    }
}

/// Best effort: a session left behind expires on its own after a few days.
async fn cancel(graph: &Graph, url: &str) {
    if let Err(e) = graph.http.delete(url).send().await {
        // Without the URL: it is the session's credential.
        tracing::debug!(error = %e.without_url(), "could not cancel an upload session");
    }
}

/// One upload session in progress. `next` is the first byte Graph is missing; `hasher` covers
/// exactly the first `hashed` bytes; `lost` means a fragment went out without an answer read, so
/// Graph must be asked where it stands first.
struct Session {
    url: String,
    size: u64,
    next: u64,
    hashed: u64,
    hasher: QuickXor,
    lost: bool,
}

impl Session {
    /// One attempt: (after a failure, the state query, then) the next fragment; Some at the end.
    async fn step(&mut self, graph: &Graph, local: &Path) -> Result<Option<DriveItem>, RemoteError> {
        if self.lost {
            let response = check(graph.provider, graph.http.get(&self.url).send().await?).await?;
            let state: SessionState = read_json(graph.provider, response).await?;
            self.next = state.next(graph.provider)?.min(self.size);
            self.lost = false;
        }
        self.catch_up(graph, local).await?;
        let offset = self.next;
        let len = graph.settings.chunk_size.min(self.size - offset);
        let hasher = self.hasher.clone();
        let (fragment, after) = read_range(local, offset, len, move |bytes| {
            let mut hasher = hasher;
            hasher.update(bytes);
            hasher
        })
        .await?;
        let range = format!("bytes {offset}-{}/{}", offset + len - 1, self.size);
        self.lost = true;
        let response =
            graph.http.put(&self.url).header(reqwest::header::CONTENT_RANGE, range).body(fragment).send().await?;
        match response.status().as_u16() {
            202 => {
                let state: SessionState = read_json(graph.provider, response).await?;
                let next = state.next(graph.provider)?.min(self.size);
                if next == offset + len {
                    (self.hasher, self.hashed) = (after, next);
                }
                self.next = next;
                self.lost = false;
                Ok(None)
            }
            200 | 201 => {
                let item = read_json(graph.provider, response).await?;
                (self.hasher, self.hashed, self.next) = (after, self.size, self.size);
                self.lost = false;
                Ok(Some(item))
            }
            // Graph already has (some of) these bytes: ask what it is missing.
            416 => Ok(None),
            _ => Err(check(graph.provider, response).await.err().unwrap_or_else(|| RemoteError::Protocol {
                provider: graph.provider,
                detail: "an upload fragment answered with an unexpected success".into(),
            })),
        }
    }

    /// Brings the hash up to `next` from the file (after Graph confirmed bytes whose answer was
    /// lost), or starts it again if Graph holds less than was hashed.
    async fn catch_up(&mut self, graph: &Graph, local: &Path) -> Result<(), RemoteError> {
        if self.next < self.hashed {
            (self.hasher, self.hashed) = (QuickXor::new(), 0);
        }
        while self.hashed < self.next {
            let len = graph.settings.chunk_size.min(self.next - self.hashed);
            let hasher = self.hasher.clone();
            let (_, after) = read_range(local, self.hashed, len, move |bytes| {
                let mut hasher = hasher;
                hasher.update(bytes);
                hasher
            })
            .await?;
            self.hasher = after;
            self.hashed += len;
        }
        Ok(())
    }
}
