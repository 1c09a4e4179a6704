//! `GET /drives/{d}/root/delta` (`driveitem-delta.md`): without a token, every item of the drive
//! (parents first); with one, each item changed since, once, in its latest state (deleted ones
//! with the `deleted` facet). Pages end in an absolute `@odata.nextLink`, the last in an
//! `@odata.deltaLink`; `token=latest` gives no items and the current link. Tokens from before
//! [`super::GraphFake::invalidate_delta_tokens`] answer 410 with a `Location` to start again.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::address::ItemAddress;
use super::errors::GraphError;
use super::store::{Drive, Inner};
use super::Params;

/// Where a listing stands: changes after `from` up to `upto` (log positions; `from` 0 with
/// `scratch` is the whole drive), already listed up to `after`.
struct Position {
    scratch: bool,
    from: usize,
    upto: usize,
    after: usize,
}

pub fn delta(inner: &Inner, at: &ItemAddress, params: &Params, host: &str) -> Result<Response, GraphError> {
    if at.base != "root" || !at.path.is_empty() {
        return Err(GraphError::bad_request("Delta is only supported on the root of a drive."));
    }
    let drive = inner.drive(&at.drive).ok_or_else(|| GraphError::not_found(&at.drive))?;
    let base = format!("http://{host}/v1.0/drives/{}/root/delta", drive.id);
    let now = drive.changes.len();
    let position = match params.get("token").map(String::as_str) {
        None => Position { scratch: true, from: 0, upto: now, after: 0 },
        Some("latest") => {
            let link = format!("{base}?token={}", link_token(inner.delta_epoch, now));
            return Ok(Json(json!({ "value": [], "@odata.deltaLink": link })).into_response());
        }
        Some(token) => read_token(token, inner.delta_epoch, now).ok_or_else(|| {
            let mut gone = GraphError::new(
                StatusCode::GONE,
                "resyncChangesApplyDifferences",
                "Resync required: enumerate the drive again and apply the differences.",
            );
            gone.location = Some(base.clone());
            gone
        })?,
    };
    let listed = if position.scratch { everything(drive) } else { changed(drive, &position) };
    let page: Vec<&(usize, Value)> = listed.iter().filter(|(n, _)| *n > position.after).take(inner.page_size).collect();
    let more = listed.iter().filter(|(n, _)| *n > position.after).count() > page.len();
    let mut body = json!({ "value": page.iter().map(|(_, v)| v.clone()).collect::<Vec<Value>>() });
    if more {
        let after = page.last().map_or(position.after, |(n, _)| *n);
        let token = format!(
            "p{}x{}x{}x{}x{}",
            inner.delta_epoch,
            u8::from(position.scratch),
            position.from,
            position.upto,
            after
        );
        body["@odata.nextLink"] = json!(format!("{base}?token={token}"));
    } else {
        body["@odata.deltaLink"] = json!(format!("{base}?token={}", link_token(inner.delta_epoch, position.upto)));
    }
    Ok(Json(body).into_response())
}

fn link_token(epoch: u64, at: usize) -> String {
    format!("d{epoch}x{at}")
}

fn read_token(token: &str, epoch: u64, now: usize) -> Option<Position> {
    let numbers: Vec<usize> = token.get(1..)?.split('x').map(|n| n.parse().ok()).collect::<Option<_>>()?;
    if numbers.first().map(|e| *e as u64) != Some(epoch) {
        return None;
    }
    match (token.as_bytes().first(), numbers.as_slice()) {
        (Some(b'd'), [_, at]) if *at <= now => Some(Position { scratch: false, from: *at, upto: now, after: 0 }),
        (Some(b'p'), [_, scratch, from, upto, after]) if *upto <= now => {
            Some(Position { scratch: *scratch == 1, from: *from, upto: *upto, after: *after })
        }
        _ => None,
    }
}

/// Every live item, in creation order (so parents first), numbered by that order.
fn everything(drive: &Drive) -> Vec<(usize, Value)> {
    drive
        .created
        .iter()
        .enumerate()
        .filter_map(|(n, id)| drive.items.get(id).map(|i| (n + 1, i)))
        .filter(|(_, i)| !i.deleted)
        .map(|(n, i)| (n, drive.delta_json(i)))
        .collect()
}

/// Items changed in `(from, upto]`, each once at the position of its last change.
fn changed(drive: &Drive, position: &Position) -> Vec<(usize, Value)> {
    let window = drive.changes.get(position.from..position.upto).unwrap_or_default();
    let mut out = Vec::new();
    for (offset, id) in window.iter().enumerate() {
        if window[offset + 1..].contains(id) {
            continue;
        }
        if let Some(item) = drive.items.get(id) {
            out.push((position.from + offset + 1, drive.delta_json(item)));
        }
    }
    out
}
