//! Resumable uploads: tus 1.0.0 with the creation, termination, checksum (sha256) and expiration
//! extensions. The offset that survives a crash is the one in the catalogue, checkpointed every
//! `CHECKPOINT` bytes; every PATCH first cuts the file back to it.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use futures_util::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use shoebox_core::ingest::staging::{remove_quietly, Staged};
use shoebox_core::model::{AssetId, IngestOutcome, Role};
use shoebox_core::tokens::random_hex;
use shoebox_core::uploads::{self, Upload};
use shoebox_core::{tags, workspaces, Catalogue, CoreError, IngestRequest, Library};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::routes::assets::parse_sha256;
use crate::routes::upload::WRITE_BATCH;
use crate::state::AppState;

pub const TUS_VERSION: &str = "1.0.0";
const EXTENSIONS: &str = "creation,termination,checksum,expiration";
pub const CHECKPOINT: u64 = 4 << 20;
const MAX_METADATA: usize = 8 * 1024;

fn hv(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn http_date(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.with_timezone(&chrono::Utc).format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_default()
}

/// Every tus response says which protocol version it speaks, errors included.
pub async fn tus_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
    h.insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    response
}

fn require_tus(headers: &HeaderMap) -> ApiResult<()> {
    match headers.get("tus-resumable").and_then(|v| v.to_str().ok()) {
        Some(TUS_VERSION) => Ok(()),
        _ => Err(ApiError::new(StatusCode::PRECONDITION_FAILED, "bad_request", "send Tus-Resumable: 1.0.0")),
    }
}

fn header_u64(headers: &HeaderMap, name: &str) -> ApiResult<u64> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| ApiError::bad_request(format!("missing or invalid {name} header")))
}

/// Parses `Upload-Metadata`: comma-separated `key base64(value)` pairs.
pub fn parse_metadata(text: &str) -> ApiResult<HashMap<String, String>> {
    if text.len() > MAX_METADATA {
        return Err(ApiError::too_large(format!("Upload-Metadata is limited to {MAX_METADATA} bytes")));
    }
    let mut out = HashMap::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once(' ').unwrap_or((pair, ""));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .map_err(|_| ApiError::bad_request(format!("Upload-Metadata value of {key:?} is not base64")))?;
        let value = String::from_utf8(bytes)
            .map_err(|_| ApiError::bad_request(format!("Upload-Metadata value of {key:?} is not UTF-8")))?;
        out.insert(key.to_string(), value);
    }
    Ok(out)
}

fn ingest_request(meta: &HashMap<String, String>, remote: Option<String>) -> IngestRequest {
    IngestRequest {
        original_name: meta.get("filename").cloned().unwrap_or_default(),
        title: meta.get("title").cloned(),
        tags: meta.get("tags").map(|t| tags::split_list(t)).unwrap_or_default(),
        taken_at: meta.get("taken_at").cloned(),
        device: meta.get("device").cloned(),
        force: matches!(meta.get("force").map(String::as_str), Some("true" | "1" | "yes")),
        remote_addr: remote,
        place: Default::default(),
    }
}

#[utoipa::path(options, path = "/api/v1/uploads", tag = "uploads", responses((status = 204, description = "tus capabilities")))]
pub async fn upload_options(State(state): State<AppState>) -> ApiResult<Response> {
    let max = state.blocking(|_, lib| lib.usable_bytes()).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.insert("tus-max-size", hv(&max.to_string()));
    h.insert("tus-extension", HeaderValue::from_static(EXTENSIONS));
    h.insert("tus-checksum-algorithm", HeaderValue::from_static("sha256"));
    Ok(response)
}

#[utoipa::path(post, path = "/api/v1/uploads", tag = "uploads",
    params(("Upload-Length" = u64, Header), ("Upload-Metadata" = Option<String>, Header), ("Tus-Resumable" = String, Header)),
    responses((status = 201, description = "created; see Location"), (status = 507)))]
pub async fn create_upload(State(state): State<AppState>, caller: Caller, headers: HeaderMap) -> ApiResult<Response> {
    require_tus(&headers)?;
    if headers.contains_key("upload-defer-length") {
        return Err(ApiError::bad_request("Upload-Defer-Length is not supported; send Upload-Length"));
    }
    let length = header_u64(&headers, "upload-length")?;
    let raw_meta = headers.get("upload-metadata").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let meta = parse_metadata(&raw_meta)?;
    let slug = meta.get("workspace").map(String::as_str).unwrap_or(workspaces::DEFAULT_SLUG);
    let ws = caller.workspace(&state, slug, Role::Contributor).await?;
    // Refuse bad metadata now, not after gigabytes have arrived.
    if let Some(sha) = meta.get("sha256") {
        parse_sha256(sha)?;
    }
    if let Some(t) = meta.get("taken_at").filter(|t| !t.trim().is_empty()) {
        shoebox_core::ingest::capture::from_client(t)?;
    }
    tags::normalize(meta.get("tags").map(|t| tags::split_list(t)).unwrap_or_default())?;

    let expiry = chrono::Duration::seconds(state.settings.resumable_expiry.as_secs() as i64);
    let expires_at = (chrono::Utc::now() + expiry).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let upload = Upload {
        id: random_hex(16)?,
        workspace_id: ws.id,
        user_id: caller.user.id,
        length,
        offset: 0,
        metadata: raw_meta,
        expires_at: expires_at.clone(),
        outcome: None,
        asset_id: None,
        sha256: None,
    };
    let (actor, id) = (caller.actor(), upload.id.clone());
    state
        .blocking(move |cat, lib| {
            lib.ensure_space(upload.length)?;
            cat.write(|tx| {
                uploads::create(tx, &upload)?;
                actor.record(
                    tx,
                    "upload.create",
                    Some(upload.workspace_id),
                    format!("upload:{}", upload.id),
                    Some(format!("{} bytes", upload.length)),
                )
            })?;
            File::create(lib.upload_path(&upload.id))
                .map(drop)
                .map_err(|source| CoreError::Io { context: "creating an upload file".into(), source })
        })
        .await?;
    let mut response = StatusCode::CREATED.into_response();
    let h = response.headers_mut();
    h.insert(header::LOCATION, hv(&format!("/api/v1/uploads/{id}")));
    h.insert("upload-expires", hv(&http_date(&expires_at)));
    Ok(response)
}

/// The caller's own, unexpired upload.
async fn upload_for(state: &AppState, caller: &Caller, id: &str) -> ApiResult<Upload> {
    let id = id.to_string();
    let upload = state.db(move |cat| cat.read(|c| uploads::get(c, &id))).await?;
    match upload {
        Some(u) if u.user_id == caller.user.id && u.expires_at > shoebox_core::model::now_utc() => Ok(u),
        _ => Err(ApiError::not_found("upload")),
    }
}

fn offset_headers(response: &mut Response, upload: &Upload, offset: u64) {
    let h = response.headers_mut();
    h.insert("upload-offset", hv(&offset.to_string()));
    h.insert("upload-length", hv(&upload.length.to_string()));
    h.insert("upload-expires", hv(&http_date(&upload.expires_at)));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

#[utoipa::path(head, path = "/api/v1/uploads/{id}", tag = "uploads", params(("id" = String, Path)),
    responses((status = 200, description = "Upload-Offset and Upload-Length"), (status = 404)))]
pub async fn head_upload(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    require_tus(&headers)?;
    let upload = upload_for(&state, &caller, &id).await?;
    let mut response = StatusCode::OK.into_response();
    offset_headers(&mut response, &upload, upload.offset);
    Ok(response)
}

#[derive(Serialize, ToSchema)]
pub struct UploadStatus {
    offset: u64,
    length: u64,
    /// `in_progress`, `stored` or `exists`.
    status: String,
    asset_id: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/uploads/{id}", tag = "uploads", params(("id" = String, Path)),
    responses((status = 200, body = UploadStatus), (status = 404)))]
pub async fn get_upload(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<UploadStatus>> {
    let u = upload_for(&state, &caller, &id).await?;
    Ok(axum::Json(UploadStatus {
        offset: u.offset,
        length: u.length,
        status: u.outcome.clone().unwrap_or_else(|| "in_progress".into()),
        asset_id: u.asset_id,
    }))
}

/// Marks an upload busy for the length of one PATCH (or DELETE).
struct BusyGuard {
    state: AppState,
    id: String,
}

impl BusyGuard {
    fn take(state: &AppState, id: &str) -> ApiResult<Self> {
        if !state.lock_busy().insert(id.to_string()) {
            return Err(ApiError::new(StatusCode::LOCKED, "upload_locked", "another request is writing this upload"));
        }
        Ok(BusyGuard { state: state.clone(), id: id.to_string() })
    }
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.state.lock_busy().remove(&self.id);
    }
}

/// The upload's file, positioned at the end of its durable bytes.
struct Sink {
    file: File,
    offset: u64,
    durable: u64,
    hasher: Option<Sha256>,
}

fn io_err(context: &str) -> impl FnOnce(std::io::Error) -> CoreError + '_ {
    move |source| CoreError::Io { context: context.to_string(), source }
}

impl Sink {
    fn open(path: &std::path::Path, offset: u64, checksum: bool) -> Result<Sink, CoreError> {
        // Never recreate the file of an upload that has bytes: that would fill them in with zeros.
        let mut file = OpenOptions::new().write(true).create(offset == 0).truncate(false).open(path).map_err(|e| {
            match e.kind() {
                std::io::ErrorKind::NotFound => CoreError::NotFound("upload"),
                _ => CoreError::Io { context: "opening upload".into(), source: e },
            }
        })?;
        file.set_len(offset).map_err(io_err("trimming upload"))?;
        file.seek(SeekFrom::Start(offset)).map_err(io_err("seeking upload"))?;
        Ok(Sink { file, offset, durable: offset, hasher: checksum.then(Sha256::new) })
    }

    fn write(&mut self, data: &[u8]) -> Result<(), CoreError> {
        self.file.write_all(data).map_err(io_err("writing upload"))?;
        if let Some(h) = self.hasher.as_mut() {
            h.update(data);
        }
        self.offset += data.len() as u64;
        Ok(())
    }

    /// Makes the bytes so far durable and records the offset.
    fn checkpoint(&mut self, cat: &Catalogue, id: &str) -> Result<(), CoreError> {
        self.file.sync_data().map_err(io_err("syncing upload"))?;
        cat.write(|tx| uploads::set_offset(tx, id, self.offset))?;
        self.durable = self.offset;
        Ok(())
    }

    fn rollback(&mut self, to: u64) -> Result<(), CoreError> {
        self.file.set_len(to).map_err(io_err("trimming upload"))?;
        self.offset = to;
        Ok(())
    }
}

fn parse_checksum(headers: &HeaderMap) -> ApiResult<Option<[u8; 32]>> {
    let Some(value) = headers.get("upload-checksum").and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let (algo, digest) = value.trim().split_once(' ').unwrap_or((value, ""));
    if !algo.eq_ignore_ascii_case("sha256") {
        return Err(ApiError::bad_request(format!("checksum algorithm {algo:?} is not supported; use sha256")));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(digest.trim())
        .map_err(|_| ApiError::bad_request("Upload-Checksum digest is not base64"))?;
    bytes.try_into().map(Some).map_err(|_| ApiError::bad_request("a sha256 digest has 32 bytes"))
}

#[utoipa::path(patch, path = "/api/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path), ("Upload-Offset" = u64, Header), ("Upload-Checksum" = Option<String>, Header)),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream"),
    responses((status = 204, description = "accepted; Upload-Offset is the new offset"), (status = 409),
        (status = 423), (status = 460, description = "checksum mismatch")))]
pub async fn patch_upload(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    request: Request,
) -> ApiResult<Response> {
    let headers = request.headers().clone();
    require_tus(&headers)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type != "application/offset+octet-stream" {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "bad_request",
            "PATCH needs Content-Type: application/offset+octet-stream",
        ));
    }
    let claimed = header_u64(&headers, "upload-offset")?;
    let checksum = parse_checksum(&headers)?;
    let _busy = BusyGuard::take(&state, &id)?;
    let upload = upload_for(&state, &caller, &id).await?;
    let _in_progress = state.upload_started();
    if let (Some(status), Some(asset_id)) = (upload.outcome.as_deref(), upload.asset_id) {
        // Finished before: a client whose answer was lost (a cut connection, a crash right after
        // the outcome was recorded) gets the same answer again.
        return Ok(finished(&upload, status, asset_id));
    }
    if claimed != upload.offset {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("Upload-Offset is {claimed} but the upload is at {}", upload.offset),
        ));
    }
    if let Some(len) =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok())
    {
        if upload.offset + len > upload.length {
            return Err(ApiError::bad_request("the body goes past Upload-Length"));
        }
    }
    if upload.offset == upload.length {
        // Every byte was durable before: this retries a finish that a crash cut short.
        return finish(&state, &caller, &upload).await;
    }

    let start = upload.offset;
    let path = state.library.upload_path(&id);
    let mut sink = tokio::task::spawn_blocking(move || Sink::open(&path, start, checksum.is_some())).await??;
    let mut stream = request.into_body().into_data_stream();
    let mut failure: Option<ApiError> = None;
    let streamed: ApiResult<Sink> = async {
        let mut batch = Vec::with_capacity(WRITE_BATCH);
        loop {
            let next = stream.next().await;
            let done = match next {
                Some(Ok(bytes)) => {
                    if sink.offset + (batch.len() + bytes.len()) as u64 > upload.length {
                        failure = Some(ApiError::bad_request("the body goes past Upload-Length"));
                        true
                    } else {
                        batch.extend_from_slice(&bytes);
                        false
                    }
                }
                Some(Err(e)) => {
                    tracing::info!(upload = %id, error = %e, "resumable upload interrupted");
                    failure = Some(ApiError::bad_request("the request body was interrupted"));
                    true
                }
                None => true,
            };
            if batch.len() >= WRITE_BATCH
                || (done && !batch.is_empty() && failure.as_ref().is_none_or(|_| checksum.is_none()))
            {
                let data = std::mem::replace(&mut batch, Vec::with_capacity(WRITE_BATCH));
                let (cat, lib, upload_id) = (state.catalogue.clone(), state.library.clone(), id.clone());
                let verifying = checksum.is_some();
                sink = tokio::task::spawn_blocking(move || -> Result<Sink, CoreError> {
                    if sink.offset - sink.durable + data.len() as u64 >= CHECKPOINT {
                        lib.ensure_space(data.len() as u64)?;
                    }
                    sink.write(&data)?;
                    // A checksummed PATCH is all or nothing, so it is made durable only at its end.
                    if !verifying && sink.offset - sink.durable >= CHECKPOINT {
                        sink.checkpoint(&cat, &upload_id)?;
                    }
                    Ok(sink)
                })
                .await??;
            }
            if done {
                break;
            }
        }
        Ok(sink)
    }
    .await;
    let mut sink = streamed?;

    let (cat, upload_id) = (state.catalogue.clone(), id.clone());
    let verdict = match (failure, checksum) {
        (Some(e), _) => Err(e),
        (None, Some(expected)) => {
            let got: [u8; 32] = sink.hasher.take().map(|h| h.finalize().into()).unwrap_or_default();
            if got == expected {
                Ok(())
            } else {
                Err(ApiError::new(
                    StatusCode::from_u16(460).unwrap_or(StatusCode::BAD_REQUEST),
                    "checksum_mismatch",
                    "the chunk does not match its Upload-Checksum; it was discarded",
                ))
            }
        }
        (None, None) => Ok(()),
    };
    let keep = verdict.is_ok() || checksum.is_none();
    sink = tokio::task::spawn_blocking(move || -> Result<Sink, CoreError> {
        if keep {
            sink.checkpoint(&cat, &upload_id)?;
        } else {
            sink.rollback(start)?;
        }
        Ok(sink)
    })
    .await??;
    verdict?;

    if sink.offset == upload.length {
        drop(sink);
        return finish(&state, &caller, &upload).await;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    offset_headers(&mut response, &upload, sink.offset);
    Ok(response)
}

/// The last byte arrived: the upload goes through the one ingest path, then its row records the
/// outcome. A refused file ends the upload.
async fn finish(state: &AppState, caller: &Caller, upload: &Upload) -> ApiResult<Response> {
    let meta = parse_metadata(&upload.metadata)?;
    let ws_id = upload.workspace_id;
    let ws = caller.role_in(state, ws_id, Role::Contributor, "upload").await?;
    let req = ingest_request(&meta, caller.remote.clone());
    let expected = meta.get("sha256").map(|s| parse_sha256(s)).transpose()?;
    let (user, id, placed_sha) = (caller.user.clone(), upload.id.clone(), upload.sha256);
    let result = state
        .blocking(move |cat, lib| {
            let path = lib.upload_path(&id);
            let outcome = if path.exists() {
                commit_upload(cat, lib, &path, &id, expected, &ws, &user, &req)
            } else {
                placed_before_crash(cat, ws.id, placed_sha)
            };
            match &outcome {
                Ok(o) => {
                    let (status, asset) = match o {
                        IngestOutcome::Stored(a) => ("stored", a.id),
                        IngestOutcome::Exists(a) => ("exists", a.id),
                    };
                    cat.write(|tx| uploads::set_outcome(tx, &id, status, asset))?;
                }
                Err(_) => {
                    remove_quietly(&path);
                    cat.write(|tx| uploads::delete(tx, &id))?;
                }
            }
            outcome
        })
        .await;
    let (status, asset_id) = match result? {
        IngestOutcome::Stored(a) => ("stored", a.id),
        IngestOutcome::Exists(a) => ("exists", a.id),
    };
    Ok(finished(upload, status, asset_id))
}

/// The answer to the PATCH that completed an upload: where the file went and how.
fn finished(upload: &Upload, status: &str, asset_id: AssetId) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    offset_headers(&mut response, upload, upload.length);
    let h = response.headers_mut();
    h.insert(HeaderName::from_static("shoebox-status"), hv(status));
    h.insert(HeaderName::from_static("shoebox-asset-id"), hv(&asset_id.to_string()));
    response
}

#[allow(clippy::too_many_arguments)]
fn commit_upload(
    cat: &Catalogue,
    lib: &Library,
    path: &std::path::Path,
    id: &str,
    expected: Option<[u8; 32]>,
    ws: &shoebox_core::model::Workspace,
    user: &shoebox_core::model::User,
    req: &IngestRequest,
) -> Result<IngestOutcome, CoreError> {
    let ext = std::path::Path::new(&req.original_name).extension().and_then(|e| e.to_str());
    let staged = Staged::from_file(path, ext)?;
    if expected.is_some_and(|e| e != staged.sha256) {
        return Err(CoreError::ChecksumMismatch);
    }
    // Placing the file moves it away; if a crash follows, this is how the retry finds the asset.
    cat.write(|tx| uploads::set_sha256(tx, id, &staged.sha256))?;
    lib.commit(cat, staged, ws, user, req)
}

/// The upload's file is gone because an earlier finish placed it (or found its bytes already in the
/// library) and the process died before recording the outcome.
fn placed_before_crash(
    cat: &Catalogue,
    ws: shoebox_core::model::WorkspaceId,
    sha256: Option<[u8; 32]>,
) -> Result<IngestOutcome, CoreError> {
    let sha256 = sha256.ok_or(CoreError::NotFound("upload"))?;
    let asset = cat.read(|c| shoebox_core::assets::find_by_sha(c, ws, &sha256))?;
    asset.map(IngestOutcome::Exists).ok_or(CoreError::NotFound("upload"))
}

#[utoipa::path(delete, path = "/api/v1/uploads/{id}", tag = "uploads", params(("id" = String, Path)),
    responses((status = 204), (status = 404), (status = 423)))]
pub async fn delete_upload(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    require_tus(&headers)?;
    let _busy = BusyGuard::take(&state, &id)?;
    upload_for(&state, &caller, &id).await?;
    state
        .blocking(move |cat, lib| {
            cat.write(|tx| uploads::delete(tx, &id))?;
            remove_quietly(&lib.upload_path(&id));
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes expired uploads, and upload files no row knows, now and then forever.
pub fn spawn_sweeper(state: AppState) -> tokio::task::JoinHandle<()> {
    let every = (state.settings.resumable_expiry / 4)
        .clamp(std::time::Duration::from_secs(1), std::time::Duration::from_secs(600));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let (cat, lib) = (state.catalogue.clone(), state.library.clone());
            let swept = tokio::task::spawn_blocking(move || sweep(&cat, &lib)).await;
            match swept {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => tracing::info!(removed = n, "expired resumable uploads removed"),
                Ok(Err(e)) => tracing::warn!(error = %e, "sweeping expired uploads failed"),
                Err(e) => tracing::warn!(error = %e, "upload sweeper task failed"),
            }
        }
    })
}

pub fn sweep(cat: &Arc<Catalogue>, lib: &Arc<Library>) -> Result<usize, CoreError> {
    let expired = cat.read(uploads::expired)?;
    for id in &expired {
        cat.write(|tx| uploads::delete(tx, id))?;
        remove_quietly(&lib.upload_path(id));
    }
    let dir = lib.upload_path("");
    let mut orphans = 0;
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if cat.read(|c| uploads::get(c, &name))?.is_none() {
                remove_quietly(&entry.path());
                orphans += 1;
            }
        }
    }
    Ok(expired.len() + orphans)
}
