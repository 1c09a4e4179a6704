//! One push connection's worker: takes due jobs from the outbox, a few at a time, replicates each,
//! and records the outcome. A job survives anything short of success: it is removed only once the
//! remote holds the file (or the file is gone from the box), and a job that was started before is
//! checked at the remote first, so a crash never leads to sending a photo twice.

use std::sync::Arc;
use std::time::Duration;

use shoebox_remote::{ErrorClass, Remote, RemoteError, RemotePath};
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::connections::{self, ConnectionId, State};
use crate::outbox::{self, Job, Op};
use crate::Shared;

/// How long an idle worker sleeps before looking at the outbox on its own (it is woken at once
/// when work is queued).
const IDLE_POLL: Duration = Duration::from_secs(60);
const MAX_BACKOFF_SECS: u64 = 3600;

pub(crate) async fn run(shared: Arc<Shared>, id: ConnectionId, remote: Arc<dyn Remote>, wake: Arc<Notify>) {
    let limit = shared.settings.push_concurrency.max(1);
    let mut running: JoinSet<(Job, Result<(), RemoteError>)> = JoinSet::new();
    let mut busy: Vec<i64> = Vec::new();
    // Syncing: the state says so. Settled: the state says idle since the queue last ran dry.
    let (mut syncing, mut settled) = (false, false);
    loop {
        if running.len() < limit {
            let (room, taken) = (limit - running.len(), busy.clone());
            let jobs = shared.db(move |cat| cat.write(|tx| outbox::take(tx, id, room, &taken))).await;
            match jobs {
                Ok(jobs) => {
                    if !jobs.is_empty() {
                        settled = false;
                        if !syncing {
                            syncing = true;
                            shared.set_state(id, State::Syncing, None).await;
                        }
                    }
                    for job in jobs {
                        busy.push(job.id);
                        let (shared, remote) = (shared.clone(), remote.clone());
                        running.spawn(async move {
                            let result = replicate(&shared, remote.as_ref(), &job).await;
                            (job, result)
                        });
                    }
                }
                Err(e) => tracing::warn!(connection = id, error = %e, "reading the outbox failed"),
            }
        }
        if running.is_empty() {
            let wait = idle(&shared, id, &mut settled).await;
            syncing = false;
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
            continue;
        }
        tokio::select! {
            Some(joined) = running.join_next() => {
                let Ok((job, result)) = joined else { continue };
                busy.retain(|b| *b != job.id);
                if !record(&shared, id, &job, result).await {
                    // The account no longer works: nothing else will either. The jobs stay queued.
                    running.abort_all();
                    return;
                }
            }
            () = wake.notified() => {}
        }
    }
}

/// Nothing in flight: marks the connection idle once its queue is empty, and says how long to
/// sleep (until the next retry is due).
async fn idle(shared: &Shared, id: ConnectionId, settled: &mut bool) -> Duration {
    let depth = shared.db(move |cat| cat.read(|c| outbox::depth(c, id))).await;
    let Ok(depth) = depth else { return IDLE_POLL };
    if depth.queued == 0 {
        if !*settled {
            if let Err(e) = shared.db(move |cat| cat.write(|tx| connections::synced(tx, id))).await {
                tracing::warn!(connection = id, error = %e, "recording the sync failed");
            }
            shared.changed();
            *settled = true;
        }
        return IDLE_POLL;
    }
    let next = depth
        .next_retry_at
        .and_then(|at| chrono::DateTime::parse_from_rfc3339(&at).ok())
        .map(|at| (at.with_timezone(&chrono::Utc) - chrono::Utc::now()).to_std().unwrap_or_default());
    next.unwrap_or(Duration::ZERO).clamp(Duration::from_millis(200), IDLE_POLL)
}

async fn replicate(shared: &Shared, remote: &dyn Remote, job: &Job) -> Result<(), RemoteError> {
    match job.op {
        Op::Upload(asset) => {
            let found = shared.db(move |cat| cat.read(|c| outbox::asset_file(c, asset))).await;
            let Some((workspace, rel)) = found.map_err(|e| RemoteError::Config(e.to_string()))? else {
                // Deleted from the box since it was queued: nothing to send.
                return Ok(());
            };
            let local = shared.library.root().join(workspace).join(&rel);
            let to = RemotePath::new(&rel)?;
            if job.started_before {
                if let Some(there) = remote.stat(&to).await? {
                    if remote.holds(&local, &there).await? {
                        return Ok(());
                    }
                }
            }
            remote.upload(&local, &to).await.map(drop)
        }
        Op::Delete => remote.delete(&RemotePath::new(&job.rel_path)?).await,
    }
}

/// Records a job's outcome; false when the connection needs the owner to reconnect it.
async fn record(shared: &Shared, id: ConnectionId, job: &Job, result: Result<(), RemoteError>) -> bool {
    let job_id = job.id;
    let Err(error) = result else {
        if let Err(e) = shared.db(move |cat| cat.write(|tx| outbox::done(tx, job_id))).await {
            tracing::warn!(connection = id, error = %e, "recording a replication failed");
        }
        return true;
    };
    let message = error.to_string();
    if error.class() == ErrorClass::NeedsReconnect {
        tracing::warn!(connection = id, error = %message, "the provider refused the account: reconnect it");
        shared.set_state(id, State::NeedsReconnect, Some(&message)).await;
        return false;
    }
    let backoff = shared.settings.retry_secs.max(1).saturating_mul(1 << job.attempts.min(12)).min(MAX_BACKOFF_SECS);
    let after = match error.class() {
        ErrorClass::Retry { after: Some(after) } => backoff.max(after.as_secs()),
        _ => backoff,
    };
    tracing::info!(connection = id, job = job_id, path = job.rel_path, error = %message, retry_in_secs = after,
        "replication failed; it will be tried again");
    let recorded = message.clone();
    if let Err(e) = shared.db(move |cat| cat.write(|tx| outbox::retry_later(tx, job_id, after, &recorded))).await {
        tracing::warn!(connection = id, error = %e, "recording a failed replication failed");
    }
    shared.set_state(id, State::Error, Some(&message)).await;
    true
}
