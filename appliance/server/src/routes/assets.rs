//! Asset lookup, search, metadata edits and deletion. Uploads are in `upload.rs` and `tus.rs`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Deserializer, Serialize};
use shoebox_core::assets::{self, Query as AssetQuery};
use shoebox_core::model::{Asset, HashState, Role};
use shoebox_core::CoreError;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::state::AppState;

pub const MAX_CHECK_HASHES: usize = 10_000;

#[derive(Deserialize, IntoParams)]
pub struct WorkspaceParam {
    /// Workspace slug; `default` when absent.
    pub workspace: Option<String>,
}

impl WorkspaceParam {
    pub fn slug(&self) -> &str {
        self.workspace.as_deref().unwrap_or(shoebox_core::workspaces::DEFAULT_SLUG)
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    sha256: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CheckResponse {
    results: BTreeMap<String, HashState>,
}

pub fn parse_sha256(text: &str) -> Result<[u8; 32], CoreError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut out)
        .map_err(|_| CoreError::invalid("sha256", format!("{text:?} is not 64 hex digits")))?;
    Ok(out)
}

/// "Do you already have these?" for a batch of SHA-256 hashes.
#[utoipa::path(post, path = "/api/v1/assets/check", tag = "assets", params(WorkspaceParam),
    request_body = CheckRequest, responses((status = 200, body = CheckResponse)))]
pub async fn check_assets(
    State(state): State<AppState>,
    caller: Caller,
    Query(ws): Query<WorkspaceParam>,
    Json(req): Json<CheckRequest>,
) -> ApiResult<axum::Json<CheckResponse>> {
    let ws = caller.workspace(&state, ws.slug(), Role::Viewer).await?;
    if req.sha256.len() > MAX_CHECK_HASHES {
        return Err(CoreError::invalid("sha256", format!("at most {MAX_CHECK_HASHES} hashes per request")).into());
    }
    let hashes = req.sha256.iter().map(|h| parse_sha256(h)).collect::<Result<Vec<_>, _>>()?;
    let states = state.db(move |cat| cat.read(|c| assets::check(c, ws.id, &hashes))).await?;
    let results = req.sha256.into_iter().map(|h| h.trim().to_ascii_lowercase()).zip(states).collect();
    Ok(axum::Json(CheckResponse { results }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    workspace: Option<String>,
    /// First capture day, `YYYY-MM-DD`, inclusive.
    from: Option<String>,
    /// Last capture day, `YYYY-MM-DD`, inclusive.
    to: Option<String>,
    tag: Option<String>,
    event: Option<i64>,
    /// Title or file name contains this.
    q: Option<String>,
    /// 1 to 500, default 100.
    limit: Option<usize>,
    cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AssetPage {
    assets: Vec<Asset>,
    next_cursor: Option<String>,
}

fn parse_day(field: &'static str, text: Option<&str>) -> Result<Option<chrono::NaiveDate>, CoreError> {
    text.map(|t| {
        chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| CoreError::invalid(field, "expected YYYY-MM-DD"))
    })
    .transpose()
}

#[utoipa::path(get, path = "/api/v1/assets", tag = "assets", params(ListParams),
    responses((status = 200, body = AssetPage)))]
pub async fn list_assets(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<ListParams>,
) -> ApiResult<axum::Json<AssetPage>> {
    let slug = p.workspace.as_deref().unwrap_or(shoebox_core::workspaces::DEFAULT_SLUG);
    let ws = caller.workspace(&state, slug, Role::Viewer).await?;
    let query = AssetQuery {
        from: parse_day("from", p.from.as_deref())?,
        to: parse_day("to", p.to.as_deref())?,
        tag: p.tag,
        event: p.event,
        text: p.q,
        limit: p.limit.unwrap_or(100),
        cursor: p.cursor,
    };
    let page = state.db(move |cat| cat.read(|c| assets::search(c, ws.id, &query))).await?;
    Ok(axum::Json(AssetPage { assets: page.assets, next_cursor: page.next_cursor }))
}

/// Loads an asset the caller may act on with at least `min`; others get 404 or 403.
pub async fn asset_for(state: &AppState, caller: &Caller, id: i64, min: Role) -> ApiResult<(Asset, i64)> {
    let found = state.db(move |cat| cat.read(|c| assets::get(c, id))).await?;
    let (asset, ws) = found.ok_or(CoreError::NotFound("asset"))?;
    caller.role_in(state, ws, min, "asset").await?;
    Ok((asset, ws))
}

#[utoipa::path(get, path = "/api/v1/assets/{id}", tag = "assets", params(("id" = i64, Path)),
    responses((status = 200, body = Asset), (status = 404)))]
pub async fn get_asset(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<Asset>> {
    Ok(axum::Json(asset_for(&state, &caller, id, Role::Viewer).await?.0))
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetPatch {
    /// A new title; `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    title: Option<Option<String>>,
    /// Replaces the asset's tags.
    tags: Option<Vec<String>>,
}

#[utoipa::path(patch, path = "/api/v1/assets/{id}", tag = "assets", params(("id" = i64, Path)),
    request_body = AssetPatch, responses((status = 200, body = Asset)))]
pub async fn update_asset(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(req): Json<AssetPatch>,
) -> ApiResult<axum::Json<Asset>> {
    let (_, ws) = asset_for(&state, &caller, id, Role::Editor).await?;
    let actor = caller.actor();
    let asset = state
        .db(move |cat| {
            cat.write(|tx| {
                assets::update_metadata(tx, id, ws, req.title, req.tags)?;
                actor.record(tx, "asset.update", Some(ws), format!("asset:{id}"), None)?;
                assets::get(tx, id)?.map(|(a, _)| a).ok_or(CoreError::NotFound("asset"))
            })
        })
        .await?;
    Ok(axum::Json(asset))
}

/// Removes the file and remembers its hash, so phones do not upload it again.
#[utoipa::path(delete, path = "/api/v1/assets/{id}", tag = "assets", params(("id" = i64, Path)),
    responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete_asset(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    let (asset, ws) = asset_for(&state, &caller, id, Role::Editor).await?;
    let (by, actor) = (caller.user.id, caller.actor());
    state
        .blocking(move |cat, lib| {
            let paths = cat.write(|tx| {
                let paths = assets::delete_with_tombstone(tx, &asset, ws, Some(by))?;
                actor.record(tx, "asset.delete", Some(ws), format!("asset:{id}"), Some(paths.join(", ")))?;
                Ok(paths)
            })?;
            paths.iter().try_for_each(|rel| lib.remove_file(&asset.workspace, rel))
        })
        .await?;
    state.stats.changed();
    Ok(StatusCode::NO_CONTENT)
}
