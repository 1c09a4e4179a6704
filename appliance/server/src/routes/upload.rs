//! `POST /api/v1/assets`: the multipart upload that `curl -F file=@x.jpg` and most apps send.
//! The file part is streamed to a staging file in batches on the blocking pool; memory stays bounded.

use axum::body::Bytes;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{Multipart, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shoebox_core::ingest::staging::{Staged, StagingWriter};
use shoebox_core::model::{Asset, IngestOutcome, Role};
use shoebox_core::{tags, CoreError, IngestRequest};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::routes::assets::{parse_sha256, WorkspaceParam};
use crate::state::AppState;

/// Bytes gathered before one write on the blocking pool.
pub const WRITE_BATCH: usize = 256 * 1024;
/// How often a long upload re-checks the free-space reserve.
pub const SPACE_CHECK_EVERY: u64 = 8 << 20;
const MAX_TEXT_FIELD: usize = 64 * 1024;

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    title: Option<String>,
    /// Comma separated.
    tags: Option<String>,
    /// RFC 3339 or `YYYY-MM-DDTHH:MM:SS`; used when the file has no capture time of its own.
    taken_at: Option<String>,
    device: Option<String>,
    /// When given, the bytes must hash to it or nothing is stored (422).
    sha256: Option<String>,
    /// `true` stores content the owner deleted before.
    force: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct UploadResult {
    /// `stored` (201) or `exists` (200).
    status: &'static str,
    asset: Asset,
}

pub fn outcome_response(outcome: IngestOutcome) -> Response {
    match outcome {
        IngestOutcome::Stored(asset) => (StatusCode::CREATED, axum::Json(UploadResult { status: "stored", asset })),
        IngestOutcome::Exists(asset) => (StatusCode::OK, axum::Json(UploadResult { status: "exists", asset })),
    }
    .into_response()
}

fn multipart_error(e: MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large(e.body_text())
    } else {
        ApiError::bad_request(format!("malformed or truncated multipart body: {}", e.body_text()))
    }
}

#[derive(Default)]
struct TextFields {
    title: Option<String>,
    tags: Option<String>,
    taken_at: Option<String>,
    device: Option<String>,
    sha256: Option<String>,
    force: bool,
}

#[utoipa::path(post, path = "/api/v1/assets", tag = "assets", params(WorkspaceParam),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = UploadResult), (status = 200, body = UploadResult),
        (status = 409, description = "asset_deleted"), (status = 415), (status = 422), (status = 507)))]
pub async fn upload_asset(
    State(state): State<AppState>,
    caller: Caller,
    Query(ws): Query<WorkspaceParam>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    let ws = caller.workspace(&state, ws.slug(), Role::Contributor).await?;
    let _in_progress = state.upload_started();
    let mut multipart = multipart.map_err(|r| ApiError::bad_request(r.body_text()))?;
    if let Some(length) =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok())
    {
        let lib = state.library.clone();
        tokio::task::spawn_blocking(move || lib.ensure_space(length)).await??;
    }
    let (fields, file) = receive_form(&state, &mut multipart).await?;
    let (staged, client_name) = file.ok_or_else(|| ApiError::bad_request("the form has no `file` part"))?;
    if let Some(expected) = fields.sha256.as_deref().filter(|s| !s.trim().is_empty()) {
        if parse_sha256(expected)? != staged.sha256 {
            return Err(CoreError::ChecksumMismatch.into());
        }
    }
    let req = IngestRequest {
        original_name: client_name,
        title: fields.title,
        tags: fields.tags.as_deref().map(tags::split_list).unwrap_or_default(),
        taken_at: fields.taken_at,
        device: fields.device,
        force: fields.force,
        remote_addr: caller.remote.clone(),
        place: Default::default(),
    };
    let user = caller.user.clone();
    let outcome = state.blocking(move |cat, lib| lib.commit(cat, staged, &ws, &user, &req)).await?;
    Ok(outcome_response(outcome))
}

/// Reads the form: the text fields, and the file part streamed to staging.
async fn receive_form(
    state: &AppState,
    multipart: &mut Multipart,
) -> ApiResult<(TextFields, Option<(Staged, String)>)> {
    let mut fields = TextFields::default();
    let mut file: Option<(Staged, String)> = None;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "file" => {
                if file.is_some() {
                    return Err(ApiError::bad_request("send one file part per request"));
                }
                let client_name = field.file_name().unwrap_or_default().to_string();
                let staged = stream_to_staging(state, &mut field, &client_name).await?;
                file = Some((staged, client_name));
            }
            "title" => fields.title = Some(read_text(&mut field).await?),
            "tags" => fields.tags = Some(read_text(&mut field).await?),
            "taken_at" => fields.taken_at = Some(read_text(&mut field).await?),
            "device" => fields.device = Some(read_text(&mut field).await?),
            "sha256" => fields.sha256 = Some(read_text(&mut field).await?),
            "force" => fields.force = matches!(read_text(&mut field).await?.trim(), "true" | "1" | "yes"),
            // Apps add fields of their own; they are read and ignored.
            _ => drop(read_text(&mut field).await?),
        }
    }
    Ok((fields, file))
}

async fn read_text(field: &mut Field<'_>) -> ApiResult<String> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if buf.len() + chunk.len() > MAX_TEXT_FIELD {
            return Err(ApiError::too_large(format!("form fields are limited to {MAX_TEXT_FIELD} bytes")));
        }
        buf.extend_from_slice(&chunk);
    }
    String::from_utf8(buf).map_err(|_| ApiError::bad_request("form fields must be UTF-8"))
}

async fn stream_to_staging(state: &AppState, field: &mut Field<'_>, client_name: &str) -> ApiResult<Staged> {
    let (lib, name) = (state.library.clone(), client_name.to_string());
    let mut writer: StagingWriter = tokio::task::spawn_blocking(move || lib.stage(&name)).await??;
    // Chunks are kept as they came (no copy) and written in one blocking call per WRITE_BATCH bytes.
    let mut batch: Vec<Bytes> = Vec::new();
    let mut batch_len = 0usize;
    let mut unchecked = 0u64;
    loop {
        let chunk = field.chunk().await.map_err(multipart_error)?;
        let done = chunk.is_none();
        if let Some(chunk) = chunk {
            batch_len += chunk.len();
            batch.push(chunk);
        }
        if batch_len >= WRITE_BATCH || (done && batch_len > 0) {
            let data = std::mem::take(&mut batch);
            unchecked += std::mem::take(&mut batch_len) as u64;
            let check_space = unchecked >= SPACE_CHECK_EVERY;
            if check_space {
                unchecked = 0;
            }
            let lib = state.library.clone();
            // The writer travels to the blocking pool and back; if anything fails it is dropped there
            // and its file removed.
            writer = tokio::task::spawn_blocking(move || -> Result<StagingWriter, CoreError> {
                if check_space {
                    lib.ensure_space(SPACE_CHECK_EVERY)?;
                }
                for chunk in &data {
                    writer.write(chunk)?;
                }
                Ok(writer)
            })
            .await??;
        }
        if done {
            break;
        }
    }
    Ok(tokio::task::spawn_blocking(move || writer.finish()).await??)
}
