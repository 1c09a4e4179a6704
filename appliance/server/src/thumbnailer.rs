//! Grid thumbnails made in the background as photos arrive, whichever way they come (upload,
//! WebDAV, a cloud import), so the library's first screen is read from the cache instead of
//! waiting for decodes. At start it walks the whole catalogue once, making what is missing (a
//! library from before, or photos whose thumbnails were deleted), then follows new rows.
//!
//! The decodes run on one thread of their own at a lower scheduling priority (nice 10): on a box
//! with two cores, a phone's backup and the pages people are looking at come first, and the
//! thumbnails take what is left. It holds one decode slot at a time, so a request for a thumbnail
//! not made yet always finds the other.

use std::sync::mpsc;
use std::time::Duration;

use shoebox_core::assets;
use shoebox_core::model::{Asset, AssetId};
use shoebox_core::thumbs::{self, Thumbnail};
use shoebox_core::{Catalogue, CoreError, Library};
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;

use crate::state::AppState;

const BATCH: u32 = 200;
/// The grid's size: the one the library's first screen asks for.
const SIZE: u32 = thumbs::SIZES[0];
/// A look now and then even without news, in case a write came from outside this process.
const IDLE_LOOK: Duration = Duration::from_secs(60);
/// How much lower than serving the decoding thread runs (nice(1) terms).
const NICENESS: i32 = 10;

type Job = Box<dyn FnOnce(&Library) + Send>;

pub fn spawn_thumbnailer(state: AppState) -> JoinHandle<()> {
    let arrived = std::sync::Arc::new(Notify::new());
    let notify = arrived.clone();
    // Inserted while being placed, then updated once ready: both wake the walk.
    state.catalogue.on_write("assets", move || notify.notify_one());
    let decoder = decoding_thread(state.library.clone());
    tokio::spawn(async move {
        let Some(decoder) = decoder else { return };
        let mut after: AssetId = 0;
        loop {
            let (last, missing) = match state.blocking(move |cat, lib| missing_after(cat, lib, after)).await {
                Ok(found) => found,
                Err(e) => {
                    tracing::warn!(error = ?e, "listing photos for thumbnails");
                    (None, Vec::new())
                }
            };
            let Some(last) = last else {
                let _ = tokio::time::timeout(IDLE_LOOK, arrived.notified()).await;
                continue;
            };
            for asset in missing {
                make(&state, &decoder, asset).await;
            }
            after = last;
        }
    })
}

/// The next batch of ready photos after `after`: the last id it reached (None when there are no
/// more) and those without a grid thumbnail, found in one trip to the blocking pool.
fn missing_after(cat: &Catalogue, lib: &Library, after: AssetId) -> Result<(Option<AssetId>, Vec<Asset>), CoreError> {
    let batch = cat.read(|c| assets::ready_after(c, after, BATCH))?;
    let last = batch.last().map(|a| a.id);
    Ok((last, batch.into_iter().filter(|a| thumbs::cached(lib, a, SIZE).is_none()).collect()))
}

/// The thread the decodes run on; None (and no background thumbnails) if it cannot be started.
fn decoding_thread(library: std::sync::Arc<Library>) -> Option<mpsc::Sender<Job>> {
    let (jobs, queue) = mpsc::channel::<Job>();
    let started = std::thread::Builder::new().name("thumbnailer".into()).spawn(move || {
        // On Linux a thread id names the thread alone: the rest of the process keeps its priority.
        let tid = rustix::thread::gettid();
        if let Err(e) = rustix::process::setpriority_process(Some(tid), NICENESS) {
            tracing::debug!(error = %e, "the thumbnailer keeps the normal priority");
        }
        for job in queue {
            // A decoder that panics on some file must not end the thumbnails of every later one.
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&library))).is_err() {
                tracing::warn!("a thumbnail decode panicked; that photo gets a placeholder");
            }
        }
    });
    match started {
        Ok(_) => Some(jobs),
        Err(e) => {
            tracing::warn!(error = %e, "no background thumbnails: they are made on request");
            None
        }
    }
}

async fn make(state: &AppState, decoder: &mpsc::Sender<Job>, asset: Asset) {
    let id = asset.id;
    let Ok(_permit) = state.thumbnail_permits.acquire().await else { return };
    let (done, made) = oneshot::channel();
    let job: Job = Box::new(move |lib| {
        let _ = done.send(thumbs::thumbnail(lib, &asset, SIZE));
    });
    if decoder.send(job).is_err() {
        tracing::warn!(asset = id, "the thumbnail thread is gone");
        return;
    }
    match made.await {
        Ok(Ok(Thumbnail::Jpeg(_))) => tracing::debug!(asset = id, "thumbnail made"),
        // Videos, HEIC, broken files: the request path answers them with a placeholder.
        Ok(Ok(Thumbnail::Placeholder(_))) => {}
        Ok(Err(e)) => tracing::warn!(asset = id, error = ?e, "making a thumbnail"),
        Err(_) => tracing::warn!(asset = id, "the thumbnail decode did not finish"),
    }
}
