//! Grid thumbnails made in the background as photos arrive, whichever way they come (upload,
//! WebDAV, a cloud import), so the library's first screen is read from the cache instead of
//! waiting for decodes. At start it walks the whole catalogue once, making what is missing (a
//! library from before, or photos whose thumbnails were deleted), then follows new rows. It takes
//! one decode slot at a time, so a request for a thumbnail not made yet always finds the other.

use std::time::Duration;

use shoebox_core::assets;
use shoebox_core::model::AssetId;
use shoebox_core::thumbs::{self, Thumbnail};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::state::AppState;

const BATCH: u32 = 200;
/// A look now and then even without news, in case a write came from outside this process.
const IDLE_LOOK: Duration = Duration::from_secs(60);

pub fn spawn_thumbnailer(state: AppState) -> JoinHandle<()> {
    let arrived = std::sync::Arc::new(Notify::new());
    let notify = arrived.clone();
    // Inserted while being placed, then updated once ready: both wake the walk.
    state.catalogue.on_write("assets", move || notify.notify_one());
    tokio::spawn(async move {
        let mut after: AssetId = 0;
        loop {
            let batch = match state.db(move |cat| cat.read(|c| assets::ready_after(c, after, BATCH))).await {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::warn!(error = ?e, "listing photos for thumbnails");
                    Vec::new()
                }
            };
            if batch.is_empty() {
                let _ = tokio::time::timeout(IDLE_LOOK, arrived.notified()).await;
                continue;
            }
            for asset in batch {
                after = asset.id;
                make(&state, asset).await;
            }
        }
    })
}

async fn make(state: &AppState, asset: shoebox_core::model::Asset) {
    let size = thumbs::SIZES[0];
    let id = asset.id;
    let probe = asset.clone();
    if !matches!(state.blocking(move |_, lib| Ok(thumbs::cached(lib, &probe, size))).await, Ok(None)) {
        return;
    }
    let Ok(_permit) = state.thumbnail_permits.acquire().await else { return };
    match state.blocking(move |_, lib| thumbs::thumbnail(lib, &asset, size)).await {
        Ok(Thumbnail::Jpeg(_)) => tracing::debug!(asset = id, "thumbnail made"),
        // Videos, HEIC, broken files: the request path answers them with a placeholder.
        Ok(Thumbnail::Placeholder(_)) => {}
        Err(e) => tracing::warn!(asset = id, error = ?e, "making a thumbnail"),
    }
}
