//! Downloads through the item's pre-authenticated `@microsoft.graph.downloadUrl`, sent without
//! the Authorization header (the URL is the credential, and Graph's download hosts refuse a
//! bearer), or, when the item came without one, through the 302 of `/content`, whose `Location`
//! is fetched the same way. The bytes are checked for length and QuickXorHash before they replace
//! the destination.

use std::path::Path;

use super::api::{check, check_preauthenticated, DriveItem};
use super::quickxor::QuickXor;
use super::Graph;
use crate::{partial, RemoteError, RemotePath};

pub(super) async fn download(graph: &Graph, from: &RemotePath, item: &DriveItem, to: &Path) -> Result<(), RemoteError> {
    let url = match &item.download_url {
        Some(url) => url.clone(),
        None => redirect_location(graph, &item.id).await?,
    };
    let size = item.size.unwrap_or(0);
    let expected = item.quickxor().map(str::to_string);
    graph
        .pacer
        .run("graph download", || async {
            let response = check_preauthenticated(graph.provider, graph.http.get(&url).send().await?).await?;
            let verify = |hasher: QuickXor, received: u64| {
                if received != size {
                    return Err(RemoteError::Network(format!("{from}: {received} of {size} bytes arrived")));
                }
                let ours = hasher.finish();
                match &expected {
                    Some(theirs) if *theirs != ours => Err(RemoteError::HashMismatch {
                        what: from.to_string(),
                        kind: "quickXorHash",
                        remote: theirs.clone(),
                        local: ours,
                    }),
                    _ => Ok(()),
                }
            };
            partial::receive(to, response, QuickXor::new(), |h, chunk| h.update(chunk), verify).await
        })
        .await
}

/// `GET /items/{id}/content` with the token, not following the 302: its `Location` is fetched
/// without the token.
async fn redirect_location(graph: &Graph, id: &str) -> Result<String, RemoteError> {
    let url = graph.item_url(id, Some("content")).await?;
    let no_redirect = crate::http_client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| RemoteError::Config(format!("HTTP client: {e}")))?;
    let refreshed = std::sync::atomic::AtomicBool::new(false);
    graph
        .pacer
        .run("graph download link", || async {
            let response =
                graph.send(&|token: &str| no_redirect.get(url.clone()).bearer_auth(token), &refreshed).await?;
            let location =
                response.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_string);
            match location {
                Some(location) if response.status().is_redirection() => Ok(location),
                _ => {
                    check(graph.provider, response).await?;
                    Err(RemoteError::Protocol {
                        provider: graph.provider,
                        detail: "content answered without a location".into(),
                    })
                }
            }
        })
        .await
}
