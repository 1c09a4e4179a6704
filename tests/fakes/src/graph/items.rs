//! The `/v1.0` API: drives, sites, items by id or path, children (list and create folder), simple
//! uploads, deletes, and downloads (302 from `/content` to the pre-authenticated URL).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::address::{self, Address, Aliases, ItemAddress};
use super::errors::GraphError;
use super::store::{Drive, Inner};
use super::{delta, host, upload, GraphFake, Params};

pub async fn dispatch(
    State(fake): State<GraphFake>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(params): Query<Params>,
    body: Bytes,
) -> Result<Response, GraphError> {
    let host = host(&headers);
    let parsed = {
        let inner = fake.lock();
        let default = |site: &str| -> Option<String> {
            inner.sites.iter().find(|s| s.id == site).and_then(|s| s.drives.first().cloned())
        };
        address::parse(uri.path(), &Aliases { me: &inner.me, site_default: &default })
    };
    let Some(address) = parsed else { return Err(GraphError::bad_request(format!("Invalid request: {}", uri.path()))) };
    match (method, address) {
        (Method::GET, Address::MeDrive) => {
            let inner = fake.lock();
            let me = inner.drive(&inner.me).ok_or_else(|| GraphError::not_found("me/drive"))?;
            Ok(Json(me.drive_json()).into_response())
        }
        (Method::GET, Address::Drive(id)) => {
            let inner = fake.lock();
            Ok(Json(inner.drive(&id).ok_or_else(|| GraphError::not_found(&id))?.drive_json()).into_response())
        }
        (Method::GET, Address::SiteByPath { host: site_host, path }) => {
            let inner = fake.lock();
            let site = inner
                .sites
                .iter()
                .find(|s| s.host.eq_ignore_ascii_case(&site_host) && s.path.eq_ignore_ascii_case(&path))
                .ok_or_else(|| GraphError::not_found(&format!("{site_host}:{path}")))?;
            Ok(Json(site_json(site)).into_response())
        }
        (Method::GET, Address::Site(id)) => {
            let inner = fake.lock();
            let site = inner.sites.iter().find(|s| s.id == id).ok_or_else(|| GraphError::not_found(&id))?;
            Ok(Json(site_json(site)).into_response())
        }
        (Method::GET, Address::SiteDrives(id)) => {
            let inner = fake.lock();
            let site = inner.sites.iter().find(|s| s.id == id).ok_or_else(|| GraphError::not_found(&id))?;
            let drives: Vec<Value> = site.drives.iter().filter_map(|d| inner.drive(d)).map(Drive::drive_json).collect();
            Ok(Json(json!({ "value": drives })).into_response())
        }
        (method, Address::Item(at)) => item_route(&fake, method, at, &params, &host, &uri, body),
        (_, _) => Err(GraphError::new(StatusCode::METHOD_NOT_ALLOWED, "invalidRequest", "Method not allowed.")),
    }
}

fn site_json(site: &super::store::Site) -> Value {
    json!({
        "id": site.id,
        "name": site.path.rsplit('/').next().unwrap_or_default(),
        "displayName": site.display_name,
        "webUrl": format!("https://{}{}", site.host, site.path),
        "siteCollection": { "hostname": site.host },
    })
}

fn item_route(
    fake: &GraphFake,
    method: Method,
    at: ItemAddress,
    params: &Params,
    host: &str,
    uri: &Uri,
    body: Bytes,
) -> Result<Response, GraphError> {
    let mut inner = fake.lock();
    if inner.drive(&at.drive).is_none() {
        return Err(GraphError::not_found(&format!("drive {}", at.drive)));
    }
    match (method, at.action.as_deref()) {
        (Method::GET, Some("delta")) => delta::delta(&inner, &at, params, host),
        (Method::PUT, Some("content")) => put_content(&mut inner, &at, params, body, host),
        (Method::POST, Some("createUploadSession")) => upload::create(&mut inner, &at, &body, host),
        (Method::POST, Some("children")) => create_folder(&mut inner, &at, &body, host),
        (method, action) => {
            let drive = inner.drive(&at.drive).ok_or_else(|| GraphError::not_found(&at.drive))?;
            let item = drive.by_path(&at.base, &at.path).ok_or_else(|| GraphError::not_found(&at.path.join("/")))?;
            match (method, action) {
                (Method::GET, None) => Ok(Json(drive.item_json(item, host)).into_response()),
                (Method::GET, Some("children")) => children(drive, &item.id, params, host, uri),
                (Method::GET, Some("content")) => {
                    if item.folder {
                        return Err(GraphError::bad_request("A folder has no content."));
                    }
                    let location = format!("http://{host}/graph/download/{}", item.download_token);
                    Ok((StatusCode::FOUND, [(header::LOCATION, location)]).into_response())
                }
                (Method::DELETE, None) => {
                    if item.parent.is_none() {
                        return Err(GraphError::new(
                            StatusCode::FORBIDDEN,
                            "accessDenied",
                            "The root cannot be deleted.",
                        ));
                    }
                    let id = item.id.clone();
                    if let Some(drive) = inner.drive_mut(&at.drive) {
                        drive.delete(&id);
                    }
                    Ok(StatusCode::NO_CONTENT.into_response())
                }
                _ => Err(GraphError::new(StatusCode::METHOD_NOT_ALLOWED, "invalidRequest", "Method not allowed.")),
            }
        }
    }
}

/// A page of a folder's children: `$top` items from `$skiptoken`, the next page's absolute link.
fn children(drive: &Drive, id: &str, params: &Params, host: &str, uri: &Uri) -> Result<Response, GraphError> {
    let top = match params.get("$top") {
        Some(t) => {
            t.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| GraphError::bad_request("Invalid $top."))?
        }
        None => 200,
    };
    let skip = match params.get("$skiptoken") {
        Some(t) => t.parse::<usize>().map_err(|_| GraphError::bad_request("Invalid $skiptoken."))?,
        None => 0,
    };
    let all = drive.children(id);
    let page: Vec<Value> = all.iter().skip(skip).take(top).map(|i| drive.item_json(i, host)).collect();
    let mut body = json!({ "value": page });
    if skip + top < all.len() {
        body["@odata.nextLink"] = json!(format!("http://{host}{}?$top={top}&$skiptoken={}", uri.path(), skip + top));
    }
    Ok(Json(body).into_response())
}

/// The parent folder and the new item's name, from a path address (`…/parent:/name:`).
pub fn parent_and_name(drive: &Drive, at: &ItemAddress) -> Result<(String, String), GraphError> {
    let Some((name, above)) = at.path.split_last() else {
        return Err(GraphError::bad_request("A name is required (address the item by path)."));
    };
    let parent = drive.by_path(&at.base, above).ok_or_else(|| GraphError::not_found(&above.join("/")))?;
    if !parent.folder {
        return Err(GraphError::new(StatusCode::CONFLICT, "nameAlreadyExists", "The parent is a file."));
    }
    check_name(name)?;
    Ok((parent.id.clone(), name.clone()))
}

/// As [`parent_and_name`], but folders missing on the way are made: OneDrive upserts the whole path
/// of a simple upload (`PUT …/root:/a/b/c.jpg:/content`), while upload sessions still need the
/// parent to exist.
fn parents_made(drive: &mut Drive, at: &ItemAddress) -> Result<(String, String), GraphError> {
    let Some((name, above)) = at.path.split_last() else {
        return Err(GraphError::bad_request("A name is required (address the item by path)."));
    };
    check_name(name)?;
    let base = drive.resolve(&at.base).ok_or_else(|| GraphError::not_found(&at.base))?;
    if !base.folder {
        return Err(GraphError::bad_request("The parent is not a folder."));
    }
    let mut parent = base.id.clone();
    for segment in above {
        check_name(segment)?;
        parent = match drive.child(&parent, segment) {
            Some(folder) if folder.folder => folder.id.clone(),
            Some(_) => return Err(GraphError::new(StatusCode::CONFLICT, "nameAlreadyExists", "The parent is a file.")),
            None => drive.create(&parent, segment, true, Vec::new()),
        };
    }
    Ok((parent, name.clone()))
}

/// OneDrive and SharePoint refuse these characters in names.
pub fn check_name(name: &str) -> Result<(), GraphError> {
    if name.is_empty() || name.chars().any(|c| "\"*:<>?/\\|".contains(c)) {
        return Err(GraphError::new(StatusCode::BAD_REQUEST, "invalidRequest", format!("Invalid name: {name:?}")));
    }
    Ok(())
}

/// `PUT …/content`: a new file by path (201), or new content of an existing one (200).
fn put_content(
    inner: &mut Inner,
    at: &ItemAddress,
    params: &Params,
    body: Bytes,
    host: &str,
) -> Result<Response, GraphError> {
    let behavior = params.get("@microsoft.graph.conflictBehavior").map_or("replace", String::as_str).to_string();
    let drive = inner.drive_mut(&at.drive).ok_or_else(|| GraphError::not_found(&at.drive))?;
    let (status, id) = if at.path.is_empty() {
        let item = drive.resolve(&at.base).ok_or_else(|| GraphError::not_found(&at.base))?;
        if item.folder {
            return Err(GraphError::bad_request("Cannot upload content to a folder."));
        }
        let id = item.id.clone();
        drive.replace_content(&id, body);
        (StatusCode::OK, id)
    } else {
        let (parent, name) = parents_made(drive, at)?;
        write_file(drive, &parent, &name, &behavior, body)?
    };
    let item = drive.items.get(&id).ok_or_else(|| GraphError::not_found(&id))?;
    Ok((status, Json(drive.item_json(item, host))).into_response())
}

/// Stores a file named `name` in `parent` under the conflict behaviour: 201 and a new item, or 200
/// and the replaced one; `fail` on a taken name is 409.
pub fn write_file(
    drive: &mut Drive,
    parent: &str,
    name: &str,
    behavior: &str,
    bytes: Bytes,
) -> Result<(StatusCode, String), GraphError> {
    let existing = drive.child(parent, name).map(|i| (i.id.clone(), i.folder));
    match (existing, behavior) {
        (Some(_), "fail") => Err(GraphError::name_exists(name)),
        (Some((_, true)), "replace") => Err(GraphError::name_exists(name)),
        (Some((id, false)), "replace") => {
            drive.replace_content(&id, bytes);
            Ok((StatusCode::OK, id))
        }
        (Some(_), _) => Ok((StatusCode::CREATED, drive.create(parent, &free_name(drive, parent, name), false, bytes))),
        (None, _) => Ok((StatusCode::CREATED, drive.create(parent, name, false, bytes))),
    }
}

/// `rename`: `a 1.jpg`, `a 2.jpg`, … as OneDrive picks.
fn free_name(drive: &Drive, parent: &str, name: &str) -> String {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s.to_string(), format!(".{e}")),
        _ => (name.to_string(), String::new()),
    };
    (1..).map(|n| format!("{stem} {n}{ext}")).find(|n| drive.child(parent, n).is_none()).unwrap_or_default()
}

/// `POST …/children`: a folder, with `@microsoft.graph.conflictBehavior` (or the older
/// `@name.conflictBehavior`) — `fail` by default.
fn create_folder(inner: &mut Inner, at: &ItemAddress, body: &[u8], host: &str) -> Result<Response, GraphError> {
    let request: Value =
        serde_json::from_slice(body).map_err(|e| GraphError::bad_request(format!("Invalid JSON: {e}")))?;
    let name =
        request.get("name").and_then(Value::as_str).ok_or_else(|| GraphError::bad_request("name is required"))?;
    check_name(name)?;
    if request.get("folder").is_none() && request.get("file").is_none() {
        return Err(GraphError::bad_request("A folder or file facet is required."));
    }
    let behavior = request
        .get("@microsoft.graph.conflictBehavior")
        .or_else(|| request.get("@name.conflictBehavior"))
        .and_then(Value::as_str)
        .unwrap_or("fail")
        .to_string();
    let drive = inner.drive_mut(&at.drive).ok_or_else(|| GraphError::not_found(&at.drive))?;
    let parent = drive.by_path(&at.base, &at.path).ok_or_else(|| GraphError::not_found(&at.path.join("/")))?;
    if !parent.folder {
        return Err(GraphError::bad_request("The parent is not a folder."));
    }
    let parent = parent.id.clone();
    let id = match (drive.child(&parent, name).map(|i| i.id.clone()), behavior.as_str()) {
        (Some(_), "fail") => return Err(GraphError::name_exists(name)),
        (Some(existing), "replace") => {
            drive.delete(&existing);
            drive.create(&parent, name, true, Vec::new())
        }
        (Some(_), _) => {
            let free = free_name(drive, &parent, name);
            drive.create(&parent, &free, true, Vec::new())
        }
        (None, _) => drive.create(&parent, name, true, Vec::new()),
    };
    let item = drive.items.get(&id).ok_or_else(|| GraphError::not_found(&id))?;
    Ok((StatusCode::CREATED, Json(drive.item_json(item, host))).into_response())
}
