//! Cloud connections of a workspace and the engine that runs them.
//!
//! A push connection replicates every photo stored in its workspace, whichever way it arrived: the
//! catalogue's triggers queue a job in the outbox in the same transaction that makes the photo
//! ready, and the connection's worker sends it (see `push`). The outbox lives in the catalogue,
//! so queued work survives restarts and crashes; a toggle pauses the worker without dropping it.
//!
//! Signing in is the owner's part: a device code to type at the provider's page (Google,
//! Microsoft) or a code to paste back (Dropbox). The flows in progress live in memory; a restart
//! asks the owner to start again.

mod auth;
pub mod connections;
mod error;
mod offers;
pub mod outbox;
mod providers;
mod pull;
pub mod pulled;
mod push;
pub mod settings;
mod tokens;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use serde::Serialize;
use shoebox_core::model::{UserId, WorkspaceId};
use shoebox_core::{Catalogue, Library};
pub use shoebox_remote::{ErrorClass, Secret};
use shoebox_remote::{Remote, RemotePath};
use tokio::sync::Notify;
use utoipa::ToSchema;

pub use auth::AuthStart;
pub use connections::{Changes, Connection, ConnectionId, Direction, NewConnection, Options, Provider, State};
pub use error::{Result, SyncError};
pub use offers::{Offer, SignIn};
pub use outbox::Depth;
pub use pull::Progress;
pub use pulled::Counts;
pub use settings::{ProviderApp, SyncSettings};

use connections::Secrets;

/// A connection with what it is doing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConnectionStatus {
    #[serde(flatten)]
    pub connection: Connection,
    /// Push: replications waiting.
    pub queue: Depth,
    /// Pull: what it has brought in so far.
    pub pulled: Counts,
    /// Pull: the sync running now, if one is.
    pub progress: Option<Progress>,
    /// The sign-in waiting for the owner, if any.
    pub auth: Option<AuthStart>,
}

/// S3 access keys given when connecting a bucket.
#[derive(Clone)]
pub struct S3Keys {
    pub access_key: String,
    pub secret_key: Secret,
}

pub struct Engine(Arc<Shared>);

pub(crate) struct Shared {
    pub(crate) catalogue: Arc<Catalogue>,
    pub(crate) library: Arc<Library>,
    pub(crate) settings: SyncSettings,
    workers: Mutex<HashMap<ConnectionId, Worker>>,
    pub(crate) auth: Mutex<HashMap<ConnectionId, auth::Pending>>,
    sync_requests: Mutex<HashMap<ConnectionId, Instant>>,
    pub(crate) progress: Mutex<HashMap<ConnectionId, Progress>>,
    changes: tokio::sync::watch::Sender<u64>,
}

struct Worker {
    direction: Direction,
    /// Push: work was queued. Pull: sync now.
    wake: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub(crate) async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Catalogue) -> shoebox_core::Result<T> + Send + 'static,
    ) -> Result<T> {
        let cat = self.catalogue.clone();
        tokio::task::spawn_blocking(move || f(&cat))
            .await
            .map_err(|e| SyncError::Internal(e.to_string()))?
            .map_err(Into::into)
    }

    pub(crate) async fn set_state(&self, id: ConnectionId, state: State, error: Option<&str>) {
        let error = error.map(str::to_string);
        let result = self.db(move |cat| cat.write(|tx| connections::set_state(tx, id, state, error.as_deref()))).await;
        if let Err(e) = result {
            tracing::warn!(connection = id, error = %e, "recording the connection's state failed");
        }
        self.changed();
    }

    pub(crate) fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The outbox has new work: every push worker looks.
    fn wake_pushers(&self) {
        for worker in lock(&self.workers).values().filter(|w| w.direction == Direction::Push) {
            worker.wake.notify_one();
        }
    }

    /// Starts the connection's worker if it should run and is not running.
    pub(crate) fn start_worker(self: &Arc<Self>, c: &Connection) {
        let runnable = c.enabled && !matches!(c.state, State::AwaitingAuth | State::NeedsReconnect);
        let mut workers = lock(&self.workers);
        if !runnable || workers.get(&c.id).is_some_and(|w| !w.task.is_finished()) {
            return;
        }
        let wake = Arc::new(Notify::new());
        let (shared, id, connection, w) = (self.clone(), c.id, c.clone(), wake.clone());
        let task = tokio::spawn(async move {
            match shared.remote(&connection).await {
                Ok(remote) if connection.direction == Direction::Push => push::run(shared, id, remote, w).await,
                Ok(remote) => pull::run(shared, id, remote, w).await,
                Err(e) => {
                    tracing::warn!(connection = id, error = %e, "the connection cannot start");
                    shared.set_state(id, State::Error, Some(&e.to_string())).await;
                }
            }
        });
        workers.insert(c.id, Worker { direction: c.direction, wake, task });
    }

    pub(crate) fn stop_worker(&self, id: ConnectionId) {
        if let Some(worker) = lock(&self.workers).remove(&id) {
            worker.task.abort();
        }
    }

    async fn remote(&self, c: &Connection) -> Result<Arc<dyn Remote>> {
        let id = c.id;
        let secrets = self.db(move |cat| cat.read(|db| connections::secrets(db, id))).await?;
        let secrets = secrets.ok_or_else(|| SyncError::Invalid("the connection has no credentials yet".into()))?;
        let store = Arc::new(tokens::CatalogueTokenStore { catalogue: self.catalogue.clone(), connection: id });
        providers::build(&self.settings, c.endpoint(), secrets, store)
    }

    pub(crate) async fn connection(&self, id: ConnectionId) -> Result<Connection> {
        self.db(move |cat| cat.read(|db| connections::get(db, id))).await?.ok_or(SyncError::NotFound)
    }

    /// The owner signed in: keep the credentials and get going.
    pub(crate) async fn authorized(self: &Arc<Self>, id: ConnectionId, secrets: Secrets) -> Result<Connection> {
        self.db(move |cat| {
            cat.write(|tx| {
                connections::set_secrets(tx, id, &secrets)?;
                tx.execute("UPDATE connections SET state = 'idle', last_error = NULL WHERE id = ?1", [id])?;
                outbox::due_now(tx, id)
            })
        })
        .await?;
        let c = self.connection(id).await?;
        self.stop_worker(id);
        self.start_worker(&c);
        self.changed();
        Ok(c)
    }
}

impl Engine {
    /// Starts a worker for every push connection that can run. Needs a Tokio runtime.
    pub async fn start(catalogue: Arc<Catalogue>, library: Arc<Library>, settings: SyncSettings) -> Result<Engine> {
        let shared = Arc::new(Shared {
            catalogue: catalogue.clone(),
            library,
            settings,
            workers: Mutex::default(),
            auth: Mutex::default(),
            sync_requests: Mutex::default(),
            progress: Mutex::default(),
            changes: tokio::sync::watch::Sender::new(0),
        });
        let weak: Weak<Shared> = Arc::downgrade(&shared);
        catalogue.on_insert("outbox", move || {
            if let Some(shared) = weak.upgrade() {
                shared.wake_pushers();
            }
        });
        // A sign-in in progress did not survive the restart: the owner starts it again.
        let all = shared
            .db(|cat| {
                cat.write(|tx| {
                    tx.execute(
                        "UPDATE connections SET state = 'needs_reconnect',
                             last_error = 'the sign-in was interrupted by a restart: start it again'
                         WHERE state = 'awaiting_auth'",
                        [],
                    )?;
                    connections::all(tx)
                })
            })
            .await?;
        for c in &all {
            shared.start_worker(c);
        }
        Ok(Engine(shared))
    }

    /// A counter that moves whenever a connection's state or queue changes (for MQTT).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.0.changes.subscribe()
    }

    /// Makes a connection. S3 takes its keys here and is checked at once; the others start their
    /// provider's sign-in, whose first step is returned. A push connection queues every photo the
    /// workspace already has.
    pub async fn create(&self, new: NewConnection, keys: Option<S3Keys>) -> Result<(Connection, Option<AuthStart>)> {
        RemotePath::new(&new.remote_folder).map_err(|e| SyncError::Invalid(e.to_string()))?;
        if new.interval_secs < 60 {
            return Err(SyncError::Invalid("interval_secs is at least 60".into()));
        }
        let secrets = match (new.provider, keys) {
            (Provider::S3, Some(keys)) => {
                Some(Secrets::S3 { access_key: keys.access_key, secret_key: keys.secret_key })
            }
            (Provider::S3, None) => {
                return Err(SyncError::Invalid("an S3 connection needs access_key and secret_key".into()))
            }
            (_, Some(_)) => return Err(SyncError::Invalid("access keys are for S3 only".into())),
            (provider, None) => {
                // Fails early when the box has no client id for this provider.
                providers::oauth(&self.0.settings, provider, new.direction, &new.options)?;
                None
            }
        };
        if let Some(secrets) = &secrets {
            self.check_reachable(new.endpoint(), secrets.clone()).await?;
        }
        let state = if secrets.is_some() { State::Idle } else { State::AwaitingAuth };
        let row = new.clone();
        let id = self
            .0
            .db(move |cat| {
                cat.write(|tx| {
                    let id = connections::insert(tx, &row, state)?;
                    if let Some(secrets) = &secrets {
                        connections::set_secrets(tx, id, secrets)?;
                    }
                    if row.direction == Direction::Push {
                        outbox::backfill(tx, id)?;
                    }
                    Ok(id)
                })
            })
            .await?;
        let started = match new.provider {
            Provider::S3 => None,
            _ => Some(auth::begin(&self.0, id).await?),
        };
        let c = self.0.connection(id).await?;
        self.0.start_worker(&c);
        self.0.changed();
        Ok((c, started))
    }

    /// Credentials and bucket are checked before anything is stored, so a typo is an answer now,
    /// not an error state later.
    async fn check_reachable(&self, endpoint: connections::Endpoint<'_>, secrets: Secrets) -> Result<()> {
        let store = Arc::new(tokens::CatalogueTokenStore { catalogue: self.0.catalogue.clone(), connection: 0 });
        let remote = providers::build(&self.0.settings, endpoint, secrets, store)?;
        remote.list(&RemotePath::root()).await.map(drop).or_else(|e| match e.is_not_found() {
            // An empty prefix of a bucket that exists is fine.
            true => Ok(()),
            false => Err(e.into()),
        })
    }

    pub async fn list(&self, workspace: WorkspaceId) -> Result<Vec<ConnectionStatus>> {
        self.statuses(move |db| connections::list(db, workspace)).await
    }

    pub async fn get(&self, id: ConnectionId) -> Result<ConnectionStatus> {
        let mut found = self.statuses(move |db| Ok(connections::get(db, id)?.into_iter().collect())).await?;
        found.pop().ok_or(SyncError::NotFound)
    }

    /// Every connection with its status (the device status, MQTT).
    pub async fn all(&self) -> Result<Vec<ConnectionStatus>> {
        self.statuses(connections::all).await
    }

    /// The connections `rows` finds, with their queues and counters read in the same snapshot (one
    /// trip to the blocking pool, however many connections: MQTT asks up to once a second).
    async fn statuses(
        &self,
        rows: impl FnOnce(&shoebox_core::rusqlite::Connection) -> shoebox_core::Result<Vec<Connection>> + Send + 'static,
    ) -> Result<Vec<ConnectionStatus>> {
        let found = self
            .0
            .db(move |cat| {
                cat.read(|db| {
                    rows(db)?
                        .into_iter()
                        .map(|c| {
                            let (queue, pulled) = (outbox::depth(db, c.id)?, pulled::counts(db, c.id)?);
                            Ok((c, queue, pulled))
                        })
                        .collect::<shoebox_core::Result<Vec<_>>>()
                })
            })
            .await?;
        let auth = lock(&self.0.auth);
        let progress = lock(&self.0.progress);
        Ok(found
            .into_iter()
            .map(|(connection, queue, pulled)| ConnectionStatus {
                auth: auth.get(&connection.id).map(auth::Pending::shown),
                progress: progress.get(&connection.id).cloned(),
                connection,
                queue,
                pulled,
            })
            .collect())
    }

    /// Toggles and settings; turning a connection off pauses it with its queue intact.
    pub async fn change(&self, id: ConnectionId, changes: Changes) -> Result<ConnectionStatus> {
        if changes.interval_secs.is_some_and(|s| s < 60) {
            return Err(SyncError::Invalid("interval_secs is at least 60".into()));
        }
        self.0.db(move |cat| cat.write(|tx| connections::change(tx, id, &changes))).await?;
        let c = self.0.connection(id).await?;
        // An idle pull worker waits for the time its old settings said: it starts again to heed
        // the new ones. One in the middle of a sync reads them when the sync ends.
        if c.direction == Direction::Pull && !lock(&self.0.progress).contains_key(&id) {
            self.0.stop_worker(id);
        }
        if c.enabled {
            self.0.start_worker(&c);
        } else {
            self.0.stop_worker(id);
        }
        self.0.changed();
        self.get(c.id).await
    }

    /// Everything waiting is tried now, at most once per `sync_now_min_secs` per connection.
    pub async fn sync_now(&self, id: ConnectionId) -> Result<ConnectionStatus> {
        let c = self.0.connection(id).await?;
        let min = Duration::from_secs(self.0.settings.sync_now_min_secs);
        {
            let mut requests = lock(&self.0.sync_requests);
            if let Some(last) = requests.get(&id).filter(|last| last.elapsed() < min) {
                return Err(SyncError::TooSoon(min - last.elapsed()));
            }
            requests.insert(id, Instant::now());
        }
        self.0.db(move |cat| cat.write(|tx| outbox::due_now(tx, id))).await?;
        self.0.start_worker(&c);
        if let Some(worker) = lock(&self.0.workers).get(&id) {
            worker.wake.notify_one();
        }
        self.get(c.id).await
    }

    /// Signs the connection in again, possibly as another account: OAuth providers start a new
    /// sign-in; S3 takes new keys. The one who reconnects is its "synced by" from now on.
    pub async fn reconnect(&self, id: ConnectionId, keys: Option<S3Keys>, by: UserId) -> Result<ConnectionStatus> {
        let c = self.0.connection(id).await?;
        self.0.db(move |cat| cat.write(|tx| connections::set_owner(tx, id, by))).await?;
        match (c.provider, keys) {
            (Provider::S3, Some(keys)) => {
                let secrets = Secrets::S3 { access_key: keys.access_key, secret_key: keys.secret_key };
                self.check_reachable(c.endpoint(), secrets.clone()).await?;
                self.0.authorized(id, secrets).await?;
            }
            (Provider::S3, None) => {
                return Err(SyncError::Invalid("reconnecting S3 needs access_key and secret_key".into()))
            }
            (_, Some(_)) => return Err(SyncError::Invalid("access keys are for S3 only".into())),
            (_, None) => {
                self.0.stop_worker(id);
                auth::begin(&self.0, id).await?;
            }
        }
        self.get(id).await
    }

    /// Finishes a sign-in with what the owner pasted: the code, or the URL the browser ended on.
    pub async fn authorize(&self, id: ConnectionId, pasted: &str) -> Result<ConnectionStatus> {
        auth::finish_code(&self.0, id, pasted).await?;
        self.get(id).await
    }

    /// Removes the connection and its queue. Photos on the box and copies on the remote stay.
    pub async fn delete(&self, id: ConnectionId) -> Result<()> {
        self.0.stop_worker(id);
        if let Some(pending) = lock(&self.0.auth).remove(&id) {
            pending.cancel();
        }
        let gone = self.0.db(move |cat| cat.write(|tx| connections::delete(tx, id))).await?;
        self.0.changed();
        gone.then_some(()).ok_or(SyncError::NotFound)
    }

    /// Stops every worker (shutdown). Jobs in flight stay queued and are checked on the next run.
    pub fn stop(&self) {
        let workers: Vec<Worker> = lock(&self.0.workers).drain().map(|(_, w)| w).collect();
        for w in workers {
            w.task.abort();
        }
        for (_, pending) in lock(&self.0.auth).drain() {
            pending.cancel();
        }
    }
}

/// Whose connection is it: the workspace it belongs to, for the HTTP layer's access check.
pub async fn workspace_of(engine: &Engine, id: ConnectionId) -> Result<WorkspaceId> {
    Ok(engine.0.connection(id).await?.workspace_id)
}
