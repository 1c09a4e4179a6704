//! Which drive a connection means, resolved once to a drive id: the user's own (`/me/drive`), one
//! given by id, or a SharePoint site's library (`/sites/{host}:/{path}` to the site's id, then
//! `/sites/{id}/drives` by name, or the site's default `/sites/{id}/drive`). A site or library that
//! is not there is a configuration error, not a "not found" a caller could read as a missing file.

use super::api::{Identified, Listed};
use super::{DriveSelector, Graph};
use crate::RemoteError;

pub(super) async fn resolve(graph: &Graph) -> Result<String, RemoteError> {
    match &graph.settings.drive {
        DriveSelector::Id(id) => Ok(id.clone()),
        DriveSelector::Me => {
            let url = graph.url(&["me", "drive"])?;
            let me: Identified = graph.json("graph me/drive", |t| graph.http.get(url.clone()).bearer_auth(t)).await?;
            Ok(me.id)
        }
        DriveSelector::SharePoint { site, library } => {
            let site_id = site_id(graph, site).await?;
            match library {
                None => {
                    let url = graph.url(&["sites", &site_id, "drive"])?;
                    let found = graph
                        .json_opt::<Identified>("graph site drive", |t| graph.http.get(url.clone()).bearer_auth(t));
                    found.await?.map(|d| d.id).ok_or_else(|| {
                        RemoteError::Config(format!("the SharePoint site {site} has no default library"))
                    })
                }
                Some(name) => {
                    let url = graph.url(&["sites", &site_id, "drives"])?;
                    let drives: Listed<Identified> =
                        graph.json("graph site drives", |t| graph.http.get(url.clone()).bearer_auth(t)).await?;
                    let names: Vec<String> = drives.value.iter().filter_map(|d| d.name.clone()).collect();
                    drives
                        .value
                        .into_iter()
                        .find(|d| d.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(name)))
                        .map(|d| d.id)
                        .ok_or_else(|| {
                            RemoteError::Config(format!(
                                "the SharePoint site {site} has no document library named {name:?} (it has: {})",
                                names.join(", ")
                            ))
                        })
                }
            }
        }
    }
}

/// A site given as `host:/sites/Name` is looked up by path; anything else is taken as its id.
async fn site_id(graph: &Graph, site: &str) -> Result<String, RemoteError> {
    let Some((host, path)) = site.split_once(':') else { return Ok(site.to_string()) };
    let host_segment = format!("{host}:");
    let mut segments = vec!["sites", host_segment.as_str()];
    segments.extend(path.split('/').filter(|s| !s.is_empty()));
    let url = graph.url(&segments)?;
    let found: Option<Identified> =
        graph.json_opt("graph site", |t| graph.http.get(url.clone()).bearer_auth(t)).await?;
    found.map(|s| s.id).ok_or_else(|| {
        RemoteError::Config(format!("the SharePoint site {site} was not found (or this account cannot see it)"))
    })
}
