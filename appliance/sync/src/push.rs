//! One push connection's worker: takes due jobs from the outbox, replicates `push_concurrency` of
//! them at a time, and records the outcomes. A job survives anything short of success: it is
//! removed only once the remote holds the file (or the file is gone from the box), and a job that
//! was started before is checked at the remote first, so a crash never leads to sending a photo
//! twice.
//!
//! Every commit waits for the disk (the catalogue runs `synchronous=FULL`), so the catalogue is not
//! asked once per job: jobs are taken a batch at a time into a small local queue, ahead of the
//! uploads that will need them, and successes are recorded a batch at a time. Both run beside the
//! uploads rather than between them. A crash loses nothing by it: a job taken but not recorded as
//! done is still in the outbox, marked started, so it is looked up at the remote before it is sent.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use shoebox_remote::{ErrorClass, Remote, RemoteError, RemotePath};
use tokio::sync::Notify;
use tokio::task::{Id as TaskId, JoinError, JoinHandle, JoinSet};
use tokio::time::Instant;

use crate::connections::{self, ConnectionId, State};
use crate::outbox::{self, Job, Op};
use crate::{Result, Shared};

/// How long an idle worker sleeps before looking at the outbox on its own (it is woken at once
/// when work is queued).
const IDLE_POLL: Duration = Duration::from_secs(60);
const MAX_BACKOFF_SECS: u64 = 3600;
/// Jobs taken ahead of the uploads: one take per this many jobs or so.
const PREFETCH: usize = 32;
/// Successes are recorded once this many wait, or once the oldest has waited `RECORD_DELAY`, or
/// when nothing else is left to do; a commit per batch instead of per job.
const RECORD_BATCH: usize = 32;
const RECORD_DELAY: Duration = Duration::from_millis(20);

type Outcome = Result<(), RemoteError>;

pub(crate) async fn run(shared: Arc<Shared>, id: ConnectionId, remote: Arc<dyn Remote>, wake: Arc<Notify>) {
    let mut worker = Worker::new(shared, id, remote);
    loop {
        worker.start_queued();
        worker.take_more();
        worker.record_if_due();
        if worker.is_empty() {
            let wait = idle(&worker.shared, id, &mut worker.settled).await;
            worker.syncing = false;
            tokio::select! {
                () = wake.notified() => worker.woken(),
                () = tokio::time::sleep(wait) => worker.woken(),
            }
            continue;
        }
        tokio::select! {
            Some(joined) = worker.running.join_next_with_id() => {
                if !worker.finished(joined).await {
                    // The account no longer works: nothing else will either. The jobs stay queued.
                    worker.stop().await;
                    return;
                }
            }
            taken = joined(&mut worker.taking), if worker.taking.is_some() => worker.took(taken).await,
            recorded = joined(&mut worker.recording), if worker.recording.is_some() => worker.recorded(recorded),
            () = tokio::time::sleep_until(worker.record_at), if worker.waiting_to_record() => {}
            () = wake.notified() => worker.woken(),
        }
    }
}

/// Waits for a background catalogue call and clears its slot.
async fn joined<T>(slot: &mut Option<JoinHandle<T>>) -> std::result::Result<T, JoinError> {
    let result = match slot.as_mut() {
        Some(handle) => handle.await,
        None => std::future::pending().await,
    };
    *slot = None;
    result
}

/// What one push connection's worker has in hand.
struct Worker {
    shared: Arc<Shared>,
    id: ConnectionId,
    remote: Arc<dyn Remote>,
    limit: usize,
    /// Taken from the outbox, not started yet.
    queue: VecDeque<Job>,
    running: JoinSet<Outcome>,
    /// The job each running task replicates: a task that panicked still gives its job back.
    running_jobs: HashMap<TaskId, Job>,
    /// Every job taken and not yet recorded (queued, running, or done and waiting to be
    /// recorded): a take must not hand them out again.
    busy: HashSet<i64>,
    /// Succeeded, to be removed from the outbox.
    succeeded: Vec<i64>,
    /// When `succeeded` is recorded at the latest.
    record_at: Instant,
    taking: Option<JoinHandle<Result<Vec<Job>>>>,
    /// Successes being recorded, and how it went.
    recording: Option<JoinHandle<(Vec<i64>, Result<()>)>>,
    /// The last take found fewer jobs than it asked for: no other take until new work is queued
    /// (a wake) or the worker comes back from idle.
    exhausted: bool,
    /// Wakes so far, so a take that was already running when work was queued is not trusted to
    /// have seen it.
    wakes: u64,
    wakes_at_take: u64,
    /// How many jobs the running take asked for.
    asked: usize,
    /// The state says syncing.
    syncing: bool,
    /// The state says idle since the queue last ran dry.
    settled: bool,
}

impl Worker {
    fn new(shared: Arc<Shared>, id: ConnectionId, remote: Arc<dyn Remote>) -> Self {
        let limit = shared.settings.push_concurrency.max(1);
        Worker {
            shared,
            id,
            remote,
            limit,
            queue: VecDeque::new(),
            running: JoinSet::new(),
            running_jobs: HashMap::new(),
            busy: HashSet::new(),
            succeeded: Vec::new(),
            record_at: Instant::now(),
            taking: None,
            recording: None,
            exhausted: false,
            wakes: 0,
            wakes_at_take: 0,
            asked: 0,
            syncing: false,
            settled: false,
        }
    }

    /// Nothing queued, running, being taken or waiting to be recorded.
    fn is_empty(&self) -> bool {
        self.queue.is_empty()
            && self.running.is_empty()
            && self.taking.is_none()
            && self.recording.is_none()
            && self.succeeded.is_empty()
    }

    fn woken(&mut self) {
        self.wakes += 1;
        self.exhausted = false;
    }

    /// Starts queued jobs up to the concurrency limit.
    fn start_queued(&mut self) {
        while self.running.len() < self.limit {
            let Some(job) = self.queue.pop_front() else { return };
            let (shared, remote, task_job) = (self.shared.clone(), self.remote.clone(), job.clone());
            let task = self.running.spawn(async move { replicate(&shared, remote.as_ref(), &task_job).await });
            self.running_jobs.insert(task.id(), job);
        }
    }

    /// Takes the next batch in the background when the local queue runs low.
    fn take_more(&mut self) {
        if self.taking.is_some() || self.exhausted || self.queue.len() >= self.limit {
            return;
        }
        let room = self.limit + PREFETCH - self.queue.len() - self.running.len().min(self.limit);
        let (id, busy) = (self.id, self.busy.clone());
        (self.wakes_at_take, self.asked) = (self.wakes, room);
        let shared = self.shared.clone();
        let take = async move { shared.db(move |cat| cat.write(|tx| outbox::take(tx, id, room, &busy))).await };
        self.taking = Some(tokio::spawn(take));
    }

    async fn took(&mut self, taken: std::result::Result<Result<Vec<Job>>, JoinError>) {
        let jobs = match taken.map_err(|e| crate::SyncError::Internal(e.to_string())).and_then(|r| r) {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::warn!(connection = self.id, error = %e, "reading the outbox failed");
                // Not again at once: a wake or the idle poll tries again.
                self.exhausted = true;
                return;
            }
        };
        self.exhausted = jobs.len() < self.asked && self.wakes == self.wakes_at_take;
        if jobs.is_empty() {
            return;
        }
        self.settled = false;
        if !self.syncing {
            self.syncing = true;
            self.shared.set_state(self.id, State::Syncing, None).await;
        }
        for job in jobs {
            self.busy.insert(job.id);
            self.queue.push_back(job);
        }
    }

    /// A replication ended: successes wait to be recorded in a batch, failures are recorded now.
    /// False when the connection needs the owner to reconnect it.
    async fn finished(&mut self, joined: std::result::Result<(TaskId, Outcome), JoinError>) -> bool {
        let (task, result) = match joined {
            Ok((task, result)) => (task, result),
            // A bug, not the remote: the job is tried again later like any failure.
            Err(e) => (e.id(), Err(RemoteError::Config(format!("the replication stopped: {e}")))),
        };
        let Some(job) = self.running_jobs.remove(&task) else { return true };
        let Err(error) = result else {
            if self.succeeded.is_empty() {
                self.record_at = Instant::now() + RECORD_DELAY;
            }
            self.succeeded.push(job.id);
            return true;
        };
        let go_on = failed(&self.shared, self.id, &job, &error).await;
        self.busy.remove(&job.id);
        go_on
    }

    fn waiting_to_record(&self) -> bool {
        self.recording.is_none() && !self.succeeded.is_empty()
    }

    /// Records the successes in the background when enough wait, the oldest waited long enough, or
    /// nothing else is left to do (the queue's depth then reaches zero at once).
    fn record_if_due(&mut self) {
        if !self.waiting_to_record() {
            return;
        }
        let nothing_else = self.queue.is_empty() && self.running.is_empty();
        if self.succeeded.len() >= RECORD_BATCH || Instant::now() >= self.record_at || nothing_else {
            let (shared, jobs) = (self.shared.clone(), std::mem::take(&mut self.succeeded));
            self.recording = Some(tokio::spawn(async move {
                let ids = jobs.clone();
                let result = shared.db(move |cat| cat.write(|tx| outbox::done(tx, &ids))).await;
                (jobs, result)
            }));
        }
    }

    fn recorded(&mut self, recorded: std::result::Result<(Vec<i64>, Result<()>), JoinError>) {
        let Ok((jobs, result)) = recorded else {
            // The ids went with the task: they stay busy here until this worker runs again.
            tracing::warn!(connection = self.id, "recording replications was cut short");
            return;
        };
        if let Err(e) = result {
            // They stay in the outbox, marked started: the next take hands them out again, and
            // they are looked up at the remote rather than sent again.
            tracing::warn!(connection = self.id, error = %e, "recording replications failed");
        }
        for job in jobs {
            self.busy.remove(&job);
        }
    }

    /// The connection cannot go on: what succeeded is recorded, the rest stays queued.
    async fn stop(&mut self) {
        self.running.abort_all();
        self.running_jobs.clear();
        if let Some(recording) = self.recording.take() {
            let _ = recording.await;
        }
        let (id, jobs) = (self.id, std::mem::take(&mut self.succeeded));
        if jobs.is_empty() {
            return;
        }
        if let Err(e) = self.shared.db(move |cat| cat.write(|tx| outbox::done(tx, &jobs))).await {
            tracing::warn!(connection = id, error = %e, "recording replications failed");
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

async fn replicate(shared: &Shared, remote: &dyn Remote, job: &Job) -> std::result::Result<(), RemoteError> {
    match job.op {
        Op::Upload(asset) => {
            let found = shared.db(move |cat| cat.read(|c| outbox::asset_file(c, asset))).await;
            let Some(file) = found.map_err(|e| RemoteError::Config(e.to_string()))? else {
                // Deleted from the box since it was queued: nothing to send.
                return Ok(());
            };
            let local = shared.library.root().join(&file.workspace).join(&file.rel_path);
            let to = RemotePath::new(&file.rel_path)?;
            if job.started_before {
                if let Some(there) = remote.stat(&to).await? {
                    if remote.holds(&local, &there).await? {
                        return Ok(());
                    }
                }
            }
            remote.upload_with_sha256(&local, &to, &file.sha256).await.map(drop)
        }
        Op::Delete => remote.delete(&RemotePath::new(&job.rel_path)?).await,
    }
}

/// Records a failed job; false when the connection needs the owner to reconnect it.
async fn failed(shared: &Shared, id: ConnectionId, job: &Job, error: &RemoteError) -> bool {
    let (job_id, message) = (job.id, error.to_string());
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
