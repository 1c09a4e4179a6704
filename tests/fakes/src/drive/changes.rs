//! `/drive/v3/changes`: the feed every create, update, move, trash and delete appends to.
//! Tokens are change numbers, as decimal strings like Drive's. Each change carries the file as it
//! was right after that change; Drive may coalesce a file's changes into its latest, so a client
//! must cope with both (this fake never coalesces).

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::errors::ApiError;
use super::files::{page_size, selection};
use super::{DriveFake, Params};

const CHANGES_DEFAULT: &str =
    "kind,nextPageToken,newStartPageToken,changes(kind,changeType,fileId,removed,time,file(kind,id,name,mimeType))";

pub async fn start_page_token(State(fake): State<DriveFake>) -> Response {
    let next = fake.lock().changes.len() + 1;
    Json(json!({ "kind": "drive#startPageToken", "startPageToken": next.to_string() })).into_response()
}

pub async fn list(State(fake): State<DriveFake>, Query(params): Query<Params>) -> Result<Response, ApiError> {
    let select = selection(&params, CHANGES_DEFAULT)?;
    let size = page_size(&params, 100)?;
    let inner = fake.lock();
    let next = inner.changes.len() + 1;
    let token = params.get("pageToken").ok_or_else(|| {
        ApiError::new(axum::http::StatusCode::BAD_REQUEST, "required", "Required parameter: pageToken")
            .at("parameter", "pageToken")
    })?;
    let from = token
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=next).contains(n))
        .ok_or_else(|| ApiError::invalid("pageToken", format!("Invalid Value: {token}")))?;
    let page: Vec<Value> = inner.changes[from - 1..]
        .iter()
        .take(size)
        .map(|c| {
            let mut change = json!({
                "kind": "drive#change",
                "changeType": "file",
                "fileId": c.file_id,
                "removed": c.file.is_none(),
                "time": c.time,
            });
            if let Some(file) = &c.file {
                change["file"] = file.clone();
            }
            change
        })
        .collect();
    let after = from + page.len();
    let mut body = json!({ "kind": "drive#changeList", "changes": page });
    if after < next {
        body["nextPageToken"] = json!(after.to_string());
    } else {
        body["newStartPageToken"] = json!(next.to_string());
    }
    Ok(Json(select.apply(&body)).into_response())
}
