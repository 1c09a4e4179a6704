//! The catalogue: one SQLite database in WAL mode with a single writer connection and a few readers.
//!
//! Everything here blocks. Async callers run it on the blocking pool (see `shoebox-server`).

mod migrations;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::hooks::Action;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::error::{CoreError, Result};

const READERS: usize = 4;

pub struct Catalogue {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// Tables the open write transaction wrote rows of, and whether it inserted any (SQLite's
    /// update hook, which also sees rows written by triggers).
    written: Arc<Mutex<HashMap<String, bool>>>,
    /// Called after a committed write of their table (inserts only, unless the flag says updates
    /// too), so work queued in the catalogue (the sync outbox, new photos' thumbnails) is picked up
    /// at once instead of at the next poll.
    listeners: Mutex<Vec<(&'static str, bool, WriteListener)>>,
}

type WriteListener = Box<dyn Fn() + Send + Sync>;

impl std::fmt::Debug for Catalogue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalogue").field("path", &self.path).finish()
    }
}

impl Catalogue {
    /// Opens (creating if needed) the catalogue and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        let mut writer = open_connection(path, true)?;
        migrations::apply(&mut writer)?;
        let written: Arc<Mutex<HashMap<String, bool>>> = Arc::default();
        let seen = written.clone();
        writer.update_hook(Some(move |action: Action, _db: &str, table: &str, _row: i64| {
            if matches!(action, Action::SQLITE_INSERT | Action::SQLITE_UPDATE) {
                let mut seen = seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let inserted = action == Action::SQLITE_INSERT;
                match seen.get_mut(table) {
                    Some(any_insert) => *any_insert |= inserted,
                    None => {
                        seen.insert(table.to_string(), inserted);
                    }
                }
            }
        }));
        Ok(Catalogue {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            written,
            listeners: Mutex::new(Vec::new()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in an IMMEDIATE transaction on the writer connection and commits it.
    pub fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let tx = Transaction::new(&mut conn, TransactionBehavior::Immediate)?;
        let value = f(&tx);
        let committed = match value {
            Ok(value) => tx.commit().map(|()| value).map_err(CoreError::from),
            Err(e) => {
                drop(tx);
                Err(e)
            }
        };
        let written = std::mem::take(&mut *self.written.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        drop(conn);
        let value = committed?;
        if !written.is_empty() {
            for (table, updates_too, listener) in
                self.listeners.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).iter()
            {
                if written.get(*table).is_some_and(|inserted| *inserted || *updates_too) {
                    listener();
                }
            }
        }
        Ok(value)
    }

    /// Calls `listener` after every committed write that inserted rows into `table` (from the
    /// writing thread: keep it short).
    pub fn on_insert(&self, table: &'static str, listener: impl Fn() + Send + Sync + 'static) {
        self.listeners.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push((table, false, Box::new(listener)));
    }

    /// Like [`Catalogue::on_insert`], for writes that inserted or updated rows of `table`.
    pub fn on_write(&self, table: &'static str, listener: impl Fn() + Send + Sync + 'static) {
        self.listeners.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push((table, true, Box::new(listener)));
    }

    /// Runs `f` on a reader connection (a consistent snapshot for the duration of `f`).
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let pooled = self.lock_readers().pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => open_connection(&self.path, false)?,
        };
        let tx = conn.transaction()?;
        let value = f(&tx);
        drop(tx);
        let mut readers = self.lock_readers();
        if readers.len() < READERS {
            readers.push(conn);
        }
        value
    }

    fn lock_readers(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        self.readers.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn open_connection(path: &Path, writer: bool) -> Result<Connection> {
    let flags = if writer {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
    } else {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    // FULL: an answered upload must survive a power cut, not only a crash of the process.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -2000;",
    )?;
    Ok(conn)
}

/// Maps a UNIQUE-constraint failure to a conflict, leaving other errors as they are.
pub(crate) fn unique_violation(e: rusqlite::Error, what: impl Into<String>) -> CoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            CoreError::Conflict(what.into())
        }
        _ => CoreError::Database(e),
    }
}

pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}
